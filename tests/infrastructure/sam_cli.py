"""Running the SAM CLI from the tests: .venv-sam/bin/sam (created by `make setup` / `make test`) or `sam` on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.infrastructure.cfn_template import REPO_ROOT, TEMPLATE_PATH

SAM_BUILD_TIMEOUT_SECONDS = 900


def find_sam() -> Path | None:
    local = REPO_ROOT / ".venv-sam" / "bin" / "sam"
    if local.is_file():
        return local
    on_path = shutil.which("sam")
    return Path(on_path) if on_path else None


@dataclass(frozen=True)
class SamCli:
    executable: Path

    def environment(self, **extra: str) -> dict[str, str]:
        # sam build for python3.13 runs the python3.13 it finds on PATH: the one running these tests comes first.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return {**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0", **extra}

    def run(
        self, *args: str, cwd: Path = REPO_ROOT, timeout: float = 300, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own SAM CLI with fixed arguments
            [str(self.executable), *args],
            cwd=cwd,
            env=self.environment(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@dataclass(frozen=True)
class SamBuild:
    build_dir: Path
    seconds: float
    output: str
    repo_had_aws_sam_dir: bool

    def artefact(self, logical_id: str) -> Path:
        return self.build_dir / logical_id


def build(sam: SamCli, work: Path) -> SamBuild:
    """`sam build` of the repository's template into ``work``.

    It runs in ``work`` with the repository's template: SAM still reads samconfig.toml (it looks next to the
    template) while the build, the cache and a cached build's dependency folder (.aws-sam/deps, relative to the
    working directory) stay out of the repository.
    """
    had_aws_sam_dir = (REPO_ROOT / ".aws-sam").exists()
    started = time.perf_counter()
    result = sam.run(
        "build",
        "--template-file",
        str(TEMPLATE_PATH),
        "--build-dir",
        str(work / "build"),
        "--cache-dir",
        str(work / "cache"),
        cwd=work,
        timeout=SAM_BUILD_TIMEOUT_SECONDS,
        SAM_DEBUG="true",  # logs the samconfig.toml values it applied
    )
    seconds = time.perf_counter() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"sam build failed ({result.returncode}):\n{output[-6000:]}"
    return SamBuild(work / "build", seconds, output, had_aws_sam_dir)
