"""Shell lines that point the AWS CLI and boto3 at the local runtime's moto, so every hint the runtime prints works
in a clean shell (no region, no credentials, no profile): ``eval "$(make -s env)"`` or one self-contained line."""

from __future__ import annotations

import os
import shlex

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def default_region() -> str:
    """The region the runtime takes when none is given: the shell's, else eu-west-1 (as LocalRuntime does)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"


def aws_environment(moto_endpoint: str, region: str) -> dict[str, str]:
    """The variables an AWS SDK or the AWS CLI needs to talk to the runtime's moto."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        **DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # moto does not know botocore's account-based DynamoDB endpoints
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def export_lines(moto_endpoint: str, region: str) -> str:
    """``export`` lines to ``eval`` (and a profile or session token of the shell unset: they would win)."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in aws_environment(moto_endpoint, region).items()]
    return "\n".join([*lines, "unset AWS_PROFILE AWS_SESSION_TOKEN"])


def aws_cli_line(moto_endpoint: str, region: str, *arguments: str) -> str:
    """One line that works as it is in a clean shell: ``AWS_ENDPOINT_URL=… … aws <arguments>``."""
    variables = {name: value for name, value in aws_environment(moto_endpoint, region).items() if name != "AWS_REGION"}
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    return f"{assignments} aws {shlex.join(arguments)}"
