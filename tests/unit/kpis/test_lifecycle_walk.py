"""One customer walked through all five lifecycle stages by an injectable clock; each change announced once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpis.logic.customer_keys import pending_customer
from kpis.logic.facts import Fact, FactKind
from kpis.logic.lifecycle import LifecycleThresholds
from kpis.logic.money import FxRates
from kpis.logic.rollup_service import RollupConfig
from omnichannel.kpi_events import LifecycleChanged
from tests.support.kpi_service import memory_service

ZONE = ZoneInfo("Europe/Istanbul")


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


class Recorder:
    def __init__(self) -> None:
        self.changes: list[LifecycleChanged] = []

    def announce(self, changes: Sequence[LifecycleChanged]) -> None:
        self.changes.extend(changes)


def _fact(n: int, kind: FactKind, at: datetime, amount: str = "0") -> Fact:
    fx = FxRates("TRY", {})
    money = fx.convert(Decimal(amount), "TRY") if kind is FactKind.ORDER else None
    return Fact(
        event_id=f"e{n}", kind=kind, occurred_at=at, day=at.astimezone(ZONE).date().isoformat(), channel="web",
        identifiers={"user_id": "ayse"}, visitor="user_id:ayse", money=money,
    )  # fmt: skip


def test_one_customer_walks_through_all_five_stages():
    # Given a customer, a clock we move, and thresholds: at risk after 60 days, lapsed after 180, loyal at 3 orders
    clock = Clock(datetime(2026, 1, 10, 10, tzinfo=UTC))
    sink = Recorder()
    service, _ = memory_service(RollupConfig(zone=ZONE, thresholds=LifecycleThresholds(60, 180, 3)), clock, sink)
    stages = []

    def step(fact: Fact | None = None, *, days: int = 0) -> None:
        clock.moment += timedelta(days=days)
        if fact is not None:
            assert service.record(fact)
            assert not service.record(fact)  # redelivered: nothing changes, nothing announced again
        else:
            service.review()
        stages.append(service.load(pending_customer("user_id", "ayse")).stage)

    # When she signs up, orders once, orders twice more, goes quiet for 61 days, then for 181 days, then returns
    step(_fact(1, FactKind.SIGNUP, clock.moment))
    step(_fact(2, FactKind.ORDER, clock.moment + timedelta(days=2), "100.00"), days=2)
    step(_fact(3, FactKind.ORDER, clock.moment + timedelta(days=5), "50.00"), days=5)
    step(_fact(4, FactKind.ORDER, clock.moment + timedelta(days=7), "75.00"), days=7)
    step(days=61)
    step(days=120)
    step(_fact(5, FactKind.ORDER, clock.moment + timedelta(days=1), "20.00"), days=1)

    # Then she went acquisition -> experimentation -> (still experimentation) -> loyalty -> retention -> recovery
    # -> loyalty again, and the time-driven changes came from the daily review alone
    assert stages == [
        "acquisition",
        "experimentation",
        "experimentation",
        "loyalty",
        "retention",
        "recovery",
        "loyalty",
    ]
    # And each change was announced exactly once, in order, with stable ids and its RFM figures
    assert [(c.previous_stage, c.stage) for c in sink.changes] == [
        (None, "acquisition"),
        ("acquisition", "experimentation"),
        ("experimentation", "loyalty"),
        ("loyalty", "retention"),
        ("retention", "recovery"),
        ("recovery", "loyalty"),
    ]
    assert [c.sequence for c in sink.changes] == [1, 2, 3, 4, 5, 6]
    assert len({c.event_id for c in sink.changes}) == 6
    assert sink.changes[4].recency_days == 181
    assert sink.changes[4].frequency == 3
    assert str(sink.changes[5].monetary) == "245.00"


def test_the_review_job_announces_nothing_when_no_stage_is_due():
    # Given a customer who ordered today
    clock = Clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    sink = Recorder()
    service, _ = memory_service(RollupConfig(zone=ZONE), clock, sink)
    service.record(_fact(1, FactKind.ORDER, clock.moment, "10"))
    sink.changes.clear()

    # When the review runs 30 days later (before the 60-day threshold)
    clock.moment += timedelta(days=30)

    # Then no stage changes
    assert service.review() == 0
    assert sink.changes == []
