"""Every AWS hint the runtime prints works as printed in a clean shell: no region, no credentials, no profile
(``make env`` lines to eval, the banner's and the demo's one-line commands)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime import LocalRuntime
from local_runtime.demo import try_it_yourself
from local_runtime.shell import aws_cli_line, export_lines
from tests.local_runtime.support import CONFIG, TEMPLATE

REPO_ROOT = Path(__file__).resolve().parents[2]
# botocore's own shape of the CLI's `aws dynamodb scan --table-name T --max-items 3`, for machines without the
# AWS CLI (it is not a dependency): the CLI v1 is botocore, so it reads the same variables the same way
BOTOCORE_SCAN = (
    "import boto3, json, sys; "
    "print(json.dumps({'Items': boto3.client('dynamodb').scan(TableName=sys.argv[1], Limit=3)['Items']}))"
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, config=CONFIG, mode="server", http_port=0, moto_port=0) as runtime:
        table = runtime.table_name("RecordsTable")
        runtime.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "hint"}, "sk": {"S": "1"}})
        yield runtime


def clean_shell(tmp_path: Path) -> dict[str, str]:
    """A shell with nothing of AWS in it: no AWS_* variable, an empty home (no ~/.aws)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return env | {"HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}


def run_hint(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("aws") is None:
        # Same variables, same request, through botocore (see BOTOCORE_SCAN)
        prefix, _, arguments = command.partition(" aws ")
        table = arguments.split("--table-name ")[1].split()[0]
        command = f"{prefix} python -c {json.dumps(BOTOCORE_SCAN)} {table}"
    return subprocess.run(  # noqa: S603 - a fixed shell line of our own
        ["bash", "-c", command],  # noqa: S607
        cwd=REPO_ROOT,
        env=clean_shell(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_demos_closing_aws_line_works_in_a_clean_shell(server: LocalRuntime, tmp_path: Path) -> None:
    # Given the demo's closing hints for this runtime
    assert server.moto_endpoint is not None
    table = server.table_name("RecordsTable")
    hints = try_it_yourself(server.base_url, server.moto_endpoint, table, "elif.demir@ornek.com.tr")
    aws_line = next(line.strip() for line in hints.splitlines() if " aws dynamodb scan " in line)
    # When it is pasted into a shell that knows nothing of AWS
    result = run_hint(aws_line, tmp_path)
    # Then it reads the table
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Items"][0]["pk"] == {"S": "hint"}


def test_make_env_lines_point_a_clean_shell_at_the_runtime(server: LocalRuntime, tmp_path: Path) -> None:
    assert server.moto_endpoint is not None
    port = server.moto_endpoint.rsplit(":", 1)[1]
    table = server.table_name("RecordsTable")
    # When a clean shell evaluates `make -s env` (as the README says) and then runs an aws command
    # (-o .venv/.installed: a test never reinstalls the virtualenv, whatever the requirements' timestamps)
    make_env = f"make -s -o .venv/.installed env MOTO_PORT={port}"
    command = f'eval "$({make_env})"; aws dynamodb scan --table-name {table} --max-items 3'
    result = run_hint(command, tmp_path)
    # Then the command reaches the runtime's moto
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Items"][0]["pk"] == {"S": "hint"}


def test_make_env_prints_export_lines_for_the_runtimes_moto(tmp_path: Path) -> None:
    printed = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "env", "MOTO_PORT=5123"],  # noqa: S607 - make from PATH, as a developer runs it
        cwd=REPO_ROOT,
        env=clean_shell(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert printed.strip() == export_lines("http://127.0.0.1:5123", "eu-west-1")


def test_the_banner_line_names_every_variable_a_clean_shell_lacks() -> None:
    line = aws_cli_line("http://127.0.0.1:5000", "eu-west-1", "dynamodb", "list-tables")
    for variable in ("AWS_ENDPOINT_URL=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_DEFAULT_REGION="):
        assert variable in line
    assert line.endswith(" aws dynamodb list-tables")
