"""The local runtime serving template.yaml on an ephemeral port, AWS in-process (moto): what `make dev` runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.runtime import LocalRuntime

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield rt
