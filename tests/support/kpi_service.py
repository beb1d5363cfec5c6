"""The KPI rollup on the in-memory store, as the tests build it (the repository over the store, a fixed clock)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import StoreRepository
from kpis.logic.rollup_service import LifecycleSink, RollupConfig, RollupService


def memory_service(
    config: RollupConfig,
    clock: Callable[[], datetime],
    sink: LifecycleSink | None = None,
    *,
    store: MemoryKpiStore | None = None,
    shards: int = 4,
    seed: int = 1,
    **options: Any,
) -> tuple[RollupService, MemoryKpiStore]:
    store = store if store is not None else MemoryKpiStore()
    repository = StoreRepository(store, clock=clock, shards=shards, rng=random.Random(seed))
    return RollupService(repository, config, clock, sink, **options), store
