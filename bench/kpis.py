"""KPI benchmark: items read by a 90-day x 10-channel KPI query after rolling up 10,000 events and after
1,000,000 (the same: the query reads buckets, not events), and the table writes per rolled-up event.

    .venv/bin/python bench/kpis.py [--small 10000] [--large 1000000]

The events go through the rollup service itself (dedupe item, bucket counters, customer state and aggregates in
one transaction each) against the in-memory store, which counts items as DynamoDB would bill them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import _paths  # type: ignore[import-not-found]  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "kpis"))

from kpis.dal.memory_store import MemoryKpiStore
from kpis.logic.facts import Fact, FactKind
from kpis.logic.money import FxRates
from kpis.logic.report import read_kpis
from kpis.logic.rollup_service import RollupConfig, RollupService

ZONE = ZoneInfo("Europe/Istanbul")
CHANNELS = ["web", "app", "store", "email", "sms", "whatsapp", "messenger", "instagram", "phone", "chat"]
START = datetime(2026, 1, 1, 6, tzinfo=UTC)
KINDS = [FactKind.PAGE_VIEW] * 6 + [FactKind.ORDER] * 2 + [FactKind.LEAD, FactKind.SURVEY]


def facts(count: int, seed: int = 5) -> list[Fact]:
    rng = random.Random(seed)
    fx = FxRates("TRY", {"EUR": Decimal("36.45")})
    customers = max(count // 10, 1)
    out = []
    for n in range(count):
        at = START + timedelta(seconds=rng.randrange(90 * 86400))
        kind = rng.choice(KINDS)
        customer = rng.randrange(customers)
        money = (
            fx.convert(Decimal(rng.randint(100, 99999)) / 100, rng.choice(["TRY", "EUR"]))
            if kind is FactKind.ORDER
            else None
        )
        out.append(
            Fact(
                event_id=f"b{seed}-{n}",
                kind=kind,
                occurred_at=at,
                day=at.astimezone(ZONE).date().isoformat(),
                channel=rng.choice(CHANNELS),
                identifiers={"user_id": f"u{customer}"},
                visitor=f"u{customer}",
                money=money,
                nps=rng.randint(0, 10) if kind is FactKind.SURVEY else None,
            )
        )
    return out


def run(count: int) -> tuple[int, float, int, float]:
    store = MemoryKpiStore()
    service = RollupService(
        store, RollupConfig(zone=ZONE, fx=FxRates("TRY", {"EUR": Decimal("36.45")})), lambda: START + timedelta(days=95)
    )
    events = facts(count)
    started = time.perf_counter()
    for fact in events:
        service.record(fact)
    seconds = time.perf_counter() - started
    writes = store.counters.items_written
    before = store.counters.items_read
    report = read_kpis(
        store, date(2026, 1, 1), date(2026, 3, 31), channels=None, granularity="day",
        attribution="last_touch:30", money_quantum=Decimal("0.01"),
    )  # fmt: skip
    assert report["totals"]["orders"] > 0
    return store.counters.items_read - before, writes / count, len(report["rows"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    print("events      query items read   bucket rows   writes/event   rollup seconds")
    results = []
    for count in (args.small, args.large):
        items, per_event, rows, seconds = run(count)
        results.append(items)
        print(f"{count:>9,}   {items:>16,}   {rows:>11,}   {per_event:>12.2f}   {seconds:>14.1f}")
    verdict = "the same" if len(set(results)) == 1 else "DIFFERENT"
    print(f"a 90-day x 10-channel query read {results[0]:,} and {results[-1]:,} items: {verdict}")


if __name__ == "__main__":
    main()
