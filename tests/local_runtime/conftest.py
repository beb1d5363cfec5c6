"""The local runtime's tests run its own small fixture template (fixtures/template.yaml), not the product's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_runtime import LocalRuntime
from tests.local_runtime.support import CONFIG, TEMPLATE


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    """The fixture template in-process: moto's mock_aws, no sockets, deliveries only on drain()."""
    with LocalRuntime.start(TEMPLATE, config=CONFIG) as rt:
        yield rt
