"""The SAM CLI for the infrastructure tests, and one `sam build` per test session (it takes a while)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.infrastructure.sam_cli import SamBuild, SamCli, build, find_sam

# Figures the build tests record with record_property; printed at the end of the run.
REPORTED_PROPERTIES = ("sam_build_seconds", "unzipped_bytes")


@pytest.fixture(scope="session")
def sam() -> SamCli:
    executable = find_sam()
    if executable is None:
        pytest.fail("the SAM CLI is missing: run `make setup` (creates .venv-sam), or deselect with -m 'not sam'")
    return SamCli(executable)


@pytest.fixture(scope="session")
def sam_build(sam: SamCli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamBuild]:
    """The repository's template built once per session into a temporary folder, removed afterwards."""
    work = tmp_path_factory.mktemp("sam-build")
    yield build(sam, work)
    shutil.rmtree(work, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the build's time and sizes at the end of the run, also when test output is captured."""
    lines = [
        f"{report.nodeid}: {name} = {value}"
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name in REPORTED_PROPERTIES
    ]
    if lines:
        terminalreporter.section("sam build figures")
        for line in lines:
            terminalreporter.write_line(line)
