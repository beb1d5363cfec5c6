"""``make smoke`` against the local runtime, as CI runs it: the SDKs and a signed webhook land, resolve to one
profile the API reads back, and the smoke profile is erased afterwards."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def serving() -> Iterator[LocalRuntime]:
    # Delivering in the background, as `make serve` does: the smoke test only talks HTTP
    with LocalRuntime.start(ROOT / "template.yaml", mode="inprocess", http_port=0, background=True) as runtime:
        yield runtime


def make_smoke(runtime: LocalRuntime, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MAKE"))}
    return subprocess.run(  # noqa: S603
        [  # noqa: S607 - make from PATH, as the README runs it
            "make",
            "-s",
            "-o",  # never reinstall the virtualenv from a test
            ".venv/.installed",
            "smoke",
            f"API_URL={runtime.base_url}",
            "WRITE_KEY=dev-write-key",
            f"TOKEN={runtime.token('admin', sub='ci-smoke')}",
            "META_APP_SECRET=dev-meta-app-secret",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def stored_messages(runtime: LocalRuntime) -> list[str]:
    items = runtime.client("dynamodb").scan(TableName=runtime.table_name("EventsTable"))["Items"]
    return [item["event"]["S"] for item in items if item["pk"]["S"].startswith("EVENT#")]


def test_make_smoke_passes_against_the_local_runtime_and_leaves_nothing(serving: LocalRuntime) -> None:
    # When CI runs the smoke test against the local runtime
    result = make_smoke(serving)
    # Then all six steps passed: settings, both SDKs, the signed webhook, the read-back of one profile, the erasure
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line[:3] for line in lines if line[:3] in ("ok ", "BAD")] == ["ok "] * 6, result.stdout
    assert "segment-analytics-python: identify and track" in result.stdout
    assert "signed Messenger webhook" in result.stdout
    assert "holds the SDK calls and the message" in result.stdout
    assert lines[-1] == "smoke test passed"
    # And the erasure took the smoke customer's events with it
    serving.drain(timeout=60)
    assert not [event for event in stored_messages(serving) if "smoke" in event]


def test_make_smoke_fails_loudly_on_a_wrong_webhook_secret(serving: LocalRuntime) -> None:
    result = make_smoke(serving, "META_APP_SECRET=not-the-secret")
    assert result.returncode != 0
    assert "BAD signed Messenger webhook" in result.stdout
    assert "is META_APP_SECRET the meta_app_secret of CaptureSecrets?" in result.stdout
    assert result.stdout.splitlines()[-1] == "smoke test FAILED: signed Messenger webhook"
