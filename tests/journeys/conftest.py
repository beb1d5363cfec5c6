"""The ``journeys`` fixture: a time-travelling harness over the local runtime (``tests/journeys/harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.journeys.harness import JourneyHarness


@pytest.fixture
def journeys() -> Iterator[JourneyHarness]:
    with JourneyHarness.start() as harness:
        yield harness
