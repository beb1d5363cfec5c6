"""Many batches on the same business day and channel, applied concurrently by several consumers against a store
that behaves as DynamoDB does under contention (a transaction touching an item another one holds is cancelled
with TransactionConflict), with shared customers and redelivered batches: the totals are exact."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import StoreRepository
from kpis.logic.dispatch import envelope
from kpis.logic.ports import Kind
from kpis.logic.rollup_service import RollupConfig
from omnichannel.canonical_event import CanonicalEvent
from tests.support.kpi_service import memory_service

NOW = datetime(2026, 11, 27, 19, tzinfo=UTC)  # a Black Friday evening in Istanbul
CONSUMERS = 6


def _event(number: int, customer: int, kind: str, rng: random.Random) -> dict[str, Any]:
    message_id = f"bf-{number}"
    detail: dict[str, Any] = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
        "message_id": message_id,
        "source": "web",
        "type": "page" if kind == "page" else "track",
        "name": "Home" if kind == "page" else "Order Completed",
        "channel": "web",
        "identifiers": {"anonymous_id": f"anon-{customer}"},
        "occurred_at": (NOW + timedelta(seconds=rng.randrange(3600))).isoformat(),
        "received_at": NOW.isoformat(),
        "properties": {} if kind == "page" else {"revenue": f"{rng.randint(100, 99999) / 100:.2f}", "currency": "TRY"},
    }
    event = CanonicalEvent.model_validate(detail)
    return envelope("omnichannel.capture", event.detail_type, event.to_bus_detail())


def test_concurrent_batches_on_one_day_and_channel_end_with_exact_totals():
    # Given 3,000 events of 300 customers on one day's web channel (page views and orders), in batches of 10-80
    rng = random.Random(7)
    events = [_event(n, rng.randrange(300), "order" if rng.random() < 0.3 else "page", rng) for n in range(3000)]
    batches: list[list[dict[str, Any]]] = []
    position = 0
    while position < len(events):
        size = rng.randint(10, 80)
        batches.append(events[position : position + size])
        position += size
    # And every fifth batch delivered a second time (at least once: the queue redelivers after a failure)
    deliveries = batches + batches[::5]
    rng.shuffle(deliveries)
    store = MemoryKpiStore(conflicts=True, hold_seconds=0.002)
    clock = lambda: NOW + timedelta(hours=2)  # noqa: E731
    work = list(enumerate(deliveries))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def consumer(number: int) -> None:
        service, _ = memory_service(RollupConfig(), clock, store=store, seed=number)
        while True:
            with lock:
                if not work:
                    return
                _, batch = work.pop()
            try:
                assert service.apply_batch(batch).poison == {}
            except BaseException as error:  # the test fails below with it
                failures.append(error)
                return

    # When six consumers apply them at the same time
    threads = [threading.Thread(target=consumer, args=(number,)) for number in range(CONSUMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then nothing failed, though transactions did collide
    assert failures == []
    assert store.conflicts_raised > 0
    # And every total is exact: orders, revenue, page views, sessions (one per visitor), new customers
    orders = [e for e in events if e["detail-type"] == "Order Completed"]
    pages = [e for e in events if e["detail-type"] == "page"]
    repository = StoreRepository(store, clock=clock)
    day = (NOW + timedelta(hours=3)).date().isoformat()
    (bucket,) = repository.read(Kind.BUCKET, day, day)
    assert bucket.numbers["orders"] == len(orders)
    assert bucket.numbers["gross"] == sum(Decimal(e["detail"]["properties"]["revenue"]) for e in orders)
    assert bucket.numbers["page_views"] == len(pages)
    assert bucket.numbers["sessions"] == len({e["detail"]["identifiers"]["anonymous_id"] for e in pages})
    buyers = {e["detail"]["identifiers"]["anonymous_id"] for e in orders}
    assert bucket.numbers["new_customers"] == len(buyers)
    (totals,) = repository.read(Kind.TOTALS, "", "")
    assert totals.numbers["customers"] == len(buyers)
    assert totals.numbers["net"] == bucket.numbers["gross"]
    census = next(iter(repository.read(Kind.CENSUS, "", ""))).numbers
    assert sum(census.values()) == len(buyers)
    # And the hot bucket was spread over its shards, none taking most of the writes
    shards = {sk: count for (pk, sk), count in store.writes_per_item.items() if sk.startswith(f"D#{day}#web")}
    assert len(shards) == 4
    assert max(shards.values()) < 0.5 * sum(shards.values())
