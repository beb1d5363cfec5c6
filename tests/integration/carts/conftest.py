"""moto-backed fixtures for the carts function."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.carts_harness import CartsHarness, moto_harness


@pytest.fixture
def carts() -> Iterator[CartsHarness]:
    yield from moto_harness()
