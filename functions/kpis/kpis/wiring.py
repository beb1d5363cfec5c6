"""Builds the KPI pieces from settings and AWS clients, once per execution environment. Tests replace them with
``override(...)`` (an in-memory store, a recording publisher, a fixed clock)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from kpis.dal.store import KpiStore
from kpis.logic.customer import CustomerState
from kpis.logic.ports import KpiRepository
from kpis.logic.rollup_service import RollupService
from kpis.settings import get_settings
from omnichannel import aws_clients
from omnichannel.event_bus import BusEvent, EventBridgePublisher, EventPublisher
from omnichannel.kpi_events import KPIS_SOURCE, KpiEventType, LifecycleChanged

PARAMS_MAX_AGE_SECONDS = 300


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    store: KpiStore | None = None
    publisher: EventPublisher | None = None
    clock: Callable[[], datetime] = utc_now
    repository: KpiRepository | None = None
    service: RollupService | None = None


_wiring = Wiring()


def override(
    *,
    store: KpiStore | None = None,
    publisher: EventPublisher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(store=store, publisher=publisher, clock=clock or utc_now)
    _params_cache.clear()


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def get_store() -> KpiStore:
    if _wiring.store is None:
        from kpis.dal.dynamodb_store import DynamoDBKpiStore

        _wiring.store = DynamoDBKpiStore(aws_clients.dynamodb(), get_settings().kpis_table_name)
    return _wiring.store


def get_repository() -> KpiRepository:
    if _wiring.repository is None:
        from kpis.dal.repository import StoreRepository

        settings = get_settings()
        _wiring.repository = StoreRepository(
            get_store(),
            clock=now,
            dedupe_days=settings.dedupe_days,
            visit_days=settings.visit_days,
            shards=settings.counter_shards,
        )
    return _wiring.repository


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher


class BusLifecycleSink:
    """Puts ``lifecycle.changed`` on the bus; a failure raises, so the event is retried and announced then."""

    def announce(self, changes: Sequence[LifecycleChanged]) -> None:
        events = [
            BusEvent(
                event_id=change.event_id,
                source=KPIS_SOURCE,
                detail_type=KpiEventType.LIFECYCLE_CHANGED.value,
                detail=change.model_dump(mode="json"),
            )
            for change in changes
        ]
        if not events:
            return
        result = get_publisher().publish(events)
        if result.failed:
            raise RuntimeError(f"lifecycle.changed not published: {result.failed}")


_params_cache: dict[str, tuple[float, Any]] = {}


def clv_model() -> Any:
    """The fitted CLV parameters (cached five minutes), or None before the first fit."""
    from kpis.logic.clv_scoring import ClvModel

    cached = _params_cache.get("model")
    if cached is not None and time.monotonic() - cached[0] < PARAMS_MAX_AGE_SECONDS:
        return cached[1]
    item = get_repository().clv_parameters()
    model = ClvModel.from_item(item) if item else None
    _params_cache["model"] = (time.monotonic(), model)
    return model


def score_customer(state: CustomerState, today: date) -> dict[str, Any]:
    from kpis.logic.clv_scoring import score

    model = clv_model()
    if model is None:
        return {}
    settings = get_settings()
    return score(state, today, model, settings.clv_horizon_days, settings.clv_annual_discount_rate)


def get_service() -> RollupService:
    if _wiring.service is None:
        _wiring.service = RollupService(
            get_repository(), get_settings().rollup_config(), clock=now, sink=BusLifecycleSink(), scorer=score_customer
        )
    return _wiring.service


def get_rollup_service() -> RollupService:
    """The rollup, for the bus entry points: ``get_rollup_service().apply_batch(events)``."""
    return get_service()
