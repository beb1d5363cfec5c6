"""KPI benchmark: table writes per rolled-up event and the hottest item's writes per 1,000 events, one event per
transaction (before: the EventBridge rule invoked the rollup once per event, nothing sharded) beside batches (after:
the queue-fed consumer's batches, hot counters in 8 shards); and the items a 90-day x 10-channel KPI query reads
after 10,000 events and after 1,000,000 (bounded by days x channels x shards: the query reads aggregates, not
events).

    .venv/bin/python bench/kpis.py [--events 20000] [--large 1000000] [--batches 1,10,100,1000]

Two mixes: a quarter spread over 90 days and 10 channels, and a peak (one business evening, 60 % of the events on
the web). The events go through the rollup service itself against the in-memory store, which counts items as
DynamoDB bills them (a transaction's items, single writes, distinct-set updates). At 10,000 events/s a hot item
receiving ``w`` writes per 1,000 events takes ``w x 10 x 2`` write units a second (a transactional write of an
item under 1 KB costs 2), of DynamoDB's 1,000 per item.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _paths  # type: ignore[import-not-found]  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "kpis"))

from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import DEFAULT_SHARDS, StoreRepository
from kpis.logic.dispatch import envelope
from kpis.logic.money import FxRates
from kpis.logic.report import Query, read_kpis
from kpis.logic.rollup_service import RollupConfig, RollupService
from omnichannel.canonical_event import CanonicalEvent

ZONE = ZoneInfo("Europe/Istanbul")
CHANNELS = ["web", "app", "store", "email", "sms", "whatsapp", "messenger", "instagram", "phone", "chat"]
START = datetime(2026, 1, 1, 6, tzinfo=UTC)
PEAK = datetime(2026, 11, 27, 17, tzinfo=UTC)  # Black Friday, 20:00 in Istanbul
KINDS = ["page"] * 6 + ["order"] * 2 + ["lead", "survey"]
FX = FxRates("TRY", {"EUR": Decimal("36.45")})
# main before this change, measured with its own code (one transaction per event, nothing sharded):
MAIN_WRITES_PER_EVENT = 5.22
MAIN_HOTTEST = 216.2  # CUSTOMERS/ALL, writes per 1,000 events


def events(count: int, *, peak: bool, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    customers = max(count // 10, 1)
    out = []
    for n in range(count):
        if peak:
            at = PEAK + timedelta(seconds=rng.randrange(3 * 3600))
            channel = "web" if rng.random() < 0.6 else rng.choice(CHANNELS[1:])
        else:
            at = START + timedelta(seconds=rng.randrange(90 * 86400))
            channel = rng.choice(CHANNELS)
        kind = rng.choice(KINDS)
        customer = rng.randrange(customers)
        properties: dict[str, Any] = {}
        if kind == "order":
            properties = {"revenue": f"{rng.randint(100, 99999) / 100:.2f}", "currency": rng.choice(["TRY", "EUR"])}
        elif kind == "survey":
            properties = {"nps": rng.randint(0, 10)}
        name = {"page": "Home", "order": "Order Completed", "lead": "Lead Created", "survey": "Survey Answered"}[kind]
        event = CanonicalEvent.model_validate(
            {
                "event_id": f"b{seed}-{n}",
                "message_id": f"m{n}",
                "source": "bench",
                "type": "page" if kind == "page" else "track",
                "name": name,
                "channel": channel,
                "identifiers": {"user_id": f"u{customer}"},
                "occurred_at": at,
                "received_at": at,
                "properties": properties,
            }
        )
        out.append(envelope("omnichannel.capture", event.detail_type, event.to_bus_detail()))
    return out


def roll_up(batch: int, shards: int, stream: list[dict[str, Any]], now: datetime) -> tuple[MemoryKpiStore, float]:
    store = MemoryKpiStore()
    repository = StoreRepository(store, clock=lambda: now, shards=shards, rng=random.Random(1))
    service = RollupService(repository, RollupConfig(zone=ZONE, fx=FX), lambda: now)
    started = time.perf_counter()
    for position in range(0, len(stream), batch):
        service.apply_batch(stream[position : position + batch])
    return store, time.perf_counter() - started


def query_items(store: MemoryKpiStore) -> int:
    before = store.counters.items_read
    report = read_kpis(
        StoreRepository(store, clock=lambda: START),
        Query(date(2026, 1, 1), date(2026, 3, 31), None, "day", "last_touch:30", Decimal("0.01")),
    )
    assert report["totals"]["orders"] > 0
    return store.counters.items_read - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=1_000_000, help="events for the query-cost check (0: skip)")
    parser.add_argument("--batches", default="1,10,100,1000")
    args = parser.parse_args()
    sizes = [int(part) for part in args.batches.split(",")]
    print(f"main before this change (its own code, per event): {MAIN_WRITES_PER_EVENT} writes/event, hottest item")
    print(f"{MAIN_HOTTEST} writes per 1,000 events (CUSTOMERS/ALL)\n")
    for peak in (False, True):
        stream = events(args.events, peak=peak)
        now = (PEAK if peak else START) + timedelta(days=95 if not peak else 0, hours=4)
        print(
            ("peak: one evening, 60 % web" if peak else "quarter: 90 days x 10 channels") + f", {args.events:,} events"
        )
        head = f"{'writes/event':>13}{'hottest/1,000 ev':>18}{'% of its limit':>16}{'events/s':>10}"
        print(f"  {'mode':<28}{head}  hottest item")
        for batch in sizes:
            for shards in (1, DEFAULT_SHARDS) if batch == 1 else (DEFAULT_SHARDS,):
                store, seconds = roll_up(batch, shards, stream, now)
                hot_key, hot_writes = store.writes_per_item.most_common(1)[0]
                per_1000 = hot_writes * 1000 / len(stream)
                mode = "before: 1 event, unsharded" if shards == 1 else f"batch {batch}, {shards} shards"
                print(
                    f"  {mode:<28}{store.counters.items_written / len(stream):>13.2f}{per_1000:>18.1f}"
                    f"{per_1000 * 2:>15.0f}%{len(stream) / seconds:>10,.0f}  {hot_key[0]} {hot_key[1]}"
                )
        print()
    if args.large:
        # days x channels x shards x (buckets, credits) + cohort and retention shards + totals shards: a bound that
        # does not grow with the events (random shards fill up as events come, then it stays)
        bound = 90 * len(CHANNELS) * DEFAULT_SHARDS * 2 + (3 + 2 + 1) * DEFAULT_SHARDS
        for count in (10_000, args.large):
            store, _ = roll_up(1000, DEFAULT_SHARDS, events(count, peak=False), START + timedelta(days=95))
            reads = query_items(store)
            print(f"a 90-day x 10-channel query after {count:>9,} events reads {reads:,} items (bound {bound:,})")
            assert reads <= bound


if __name__ == "__main__":
    main()
