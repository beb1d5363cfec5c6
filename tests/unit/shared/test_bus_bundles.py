"""Bundles on the bus (omnichannel.event_bus) and in the consumers' shell (omnichannel.bus_batch): a bundle's events
are handled one by one as if each had come alone; a poison one is quarantined alone with its own single-event body;
a transient failure of any of them brings the whole record back, with nothing of it quarantined or skipped yet, and
its redelivery counts nothing twice."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError
from pydantic import BaseModel

from omnichannel.bus_batch import BatchOutcome, BusBatchConsumer, Poison, expand_bundle
from omnichannel.event_bus import (
    BILLING_CHUNK_BYTES,
    BUNDLE_DETAIL_TYPE,
    MAX_BYTES_PER_BUNDLE,
    BundlingPublisher,
    BusEvent,
    InMemoryPublisher,
    bundle,
    bus_publisher,
    detail_json,
    entry_size,
    inner_event,
)
from tests.fakes import FakeLambdaContext
from tests.support.sqs_batches import bus_event, failed_ids, sqs_batch

AT = "2026-06-01T12:00:00Z"


class Order(BaseModel):
    order_id: str
    total: int


class NotForUs(Exception):
    pass


class KeptBodies:
    def __init__(self) -> None:
        self.kept: list[tuple[str, str, dict[str, Any]]] = []  # (message id, reason, body)

    def keep(self, record: SQSRecord, reason: str, consumer: str) -> None:
        self.kept.append((record.message_id, reason, json.loads(record.body or "{}")))


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem")


class Ledger:
    """A consumer that sums order totals once per order (its dedupe), like a real one; ``slow`` orders fail
    transiently as long as ``throttling`` is on."""

    def __init__(self, quarantine: KeptBodies) -> None:
        self.totals: dict[str, int] = {}
        self.calls: list[str] = []
        self.throttling = True
        self.consumer = BusBatchConsumer(
            Logger(service="test"), Metrics(namespace="Test", service="test"), skip=(NotForUs,),
            quarantine=lambda: quarantine,
        )  # fmt: skip
        self.consumer.route("shop", {"Order Placed"}, Order, self.handle)

    def handle(self, order: Order) -> None:
        self.calls.append(order.order_id)
        kind = order.order_id.split("-")[0]
        if kind == "poison":
            raise Poison("the order names a store that never existed")
        if kind == "other":
            raise NotForUs("not a shop order")
        if kind == "slow" and self.throttling:
            raise throttled()
        self.totals.setdefault(order.order_id, order.total)  # once per order: a repeat changes nothing


def order(order_id: str, total: int = 10, **detail: Any) -> BusEvent:
    return BusEvent(order_id, "shop", "Order Placed", {"order_id": order_id, "total": total, **detail})


def bundled(*events: BusEvent) -> dict[str, Any]:
    """The bundle ``events`` make, as the consumer's queue receives it."""
    [(entry, carried)] = bundle(list(events), AT)
    assert carried == list(events)
    assert entry.detail_type == BUNDLE_DETAIL_TYPE
    return bus_event(entry.source, entry.detail_type, entry.detail)


def alone(event: BusEvent) -> dict[str, Any]:
    return bus_event(event.source, event.detail_type, event.detail)


def run(ledger: Ledger, batch: dict[str, Any]) -> dict[str, Any]:
    return dict(ledger.consumer.handle(batch, FakeLambdaContext(function_name="LedgerFunction")))


# ------------------------------------------------------------------------------------------ per event


def test_a_bundle_s_events_are_handled_each_and_a_poison_one_is_quarantined_alone() -> None:
    # Given a bundle of six orders: two good, one poison, one whose detail does not validate, one the consumer
    # skips, and one kind it has no route for (its rule delivered the bundle for the others' sake)
    quarantine = KeptBodies()
    ledger = Ledger(quarantine)
    events = [
        order("o-1", 5),
        order("poison-2"),
        BusEvent("bad-3", "shop", "Order Placed", {"order_id": "bad-3", "total": "lots"}),
        order("other-4"),
        BusEvent("x-5", "shop", "Order Shredded", {"order_id": "x-5"}),
        order("o-6", 7),
    ]
    batch = sqs_batch([bundled(*events), alone(order("o-7", 1))])
    ids = [record["messageId"] for record in batch["Records"]]

    # When the batch is handled
    answer = run(ledger, batch)

    # Then nothing comes back; the good orders are counted, the unrouted kind is ignored (not quarantined)
    assert answer == {"batchItemFailures": []}
    assert ledger.totals == {"o-1": 5, "o-6": 7, "o-7": 1}
    # And the poison and the invalid one are quarantined alone, each with the body it would have had unbundled
    assert [(message_id, reason) for message_id, reason, _ in quarantine.kept] == [
        (ids[0], "Poison: the order names a store that never existed"),
        (ids[0], "invalid detail.total"),
    ]
    [(_, _, poison), (_, _, invalid)] = quarantine.kept
    assert poison["detail"] == events[1].detail
    assert poison["detail-type"] == "Order Placed"
    assert poison["id"] == "poison-2"
    assert poison["source"] == "shop"
    assert poison["time"] == AT
    assert invalid["detail"] == events[2].detail


def test_a_transient_failure_inside_a_bundle_brings_it_back_and_its_redelivery_counts_nothing_twice() -> None:
    # Given a bundle whose second order fails transiently, with a poison and a skipped order after it
    quarantine = KeptBodies()
    ledger = Ledger(quarantine)
    batch = sqs_batch([bundled(order("o-1", 5), order("slow-2", 3), order("poison-3"), order("other-4"))])
    [message_id] = [record["messageId"] for record in batch["Records"]]

    # When it is handled: the record comes back; its other events were done, but nothing is quarantined yet
    assert failed_ids(run(ledger, batch)) == [message_id]
    assert ledger.totals == {"o-1": 5}
    assert quarantine.kept == []

    # And when it comes back (twice: at-least-once) once the throttling has passed
    ledger.throttling = False
    assert run(ledger, batch) == {"batchItemFailures": []}
    assert run(ledger, batch) == {"batchItemFailures": []}

    # Then every order is counted once, o-1 redone idempotently, and the poison quarantined once per pass that
    # settled the record (the repeat delivery is a repeat record too)
    assert ledger.totals == {"o-1": 5, "slow-2": 3}
    assert ledger.calls.count("o-1") == 3
    assert [reason for _, reason, _ in quarantine.kept] == ["Poison: the order names a store that never existed"] * 2


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        pytest.param({"events": []}, "not a bundle", id="no-kinds"),
        pytest.param({"kinds": ["Order Placed"], "events": "many"}, "not a bundle", id="events-not-a-list"),
    ],
)
def test_a_bundle_that_is_not_one_is_quarantined_whole(detail: dict[str, Any], reason: str) -> None:
    quarantine = KeptBodies()
    ledger = Ledger(quarantine)
    batch = sqs_batch([bus_event("shop", BUNDLE_DETAIL_TYPE, detail), alone(order("o-2"))])

    assert run(ledger, batch) == {"batchItemFailures": []}

    [(message_id, kept_reason, body)] = quarantine.kept
    assert message_id == batch["Records"][0]["messageId"]
    assert kept_reason.startswith(reason)
    assert body["detail"] == detail
    assert ledger.totals == {"o-2": 10}


def test_a_bundle_event_without_its_detail_type_is_quarantined_alone() -> None:
    quarantine = KeptBodies()
    ledger = Ledger(quarantine)
    envelope = bundled(order("o-1"), order("o-2"))
    del envelope["detail"]["events"][1]["detail-type"]

    assert run(ledger, sqs_batch([envelope])) == {"batchItemFailures": []}

    assert ledger.totals == {"o-1": 10}
    [(_, reason, body)] = quarantine.kept
    assert reason.startswith("bundle event 1: not an EventBridge event")
    assert body["detail"]["order_id"] == "o-2"


# ------------------------------------------------------------------------------------------ batch functions


class Rollup:
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def apply(self, events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        self.seen.append([str(event["detail"].get("order_id")) for event in events])
        outcome = BatchOutcome()
        for index, event in enumerate(events):
            kind = str(event["detail"].get("order_id")).split("-")[0]
            if kind == "poison":
                outcome.poison[index] = "year out of range"
            elif kind == "later":
                outcome.retry.add(index)
        return outcome


def rollup_consumer(quarantine: KeptBodies) -> BusBatchConsumer:
    consumer = BusBatchConsumer(
        Logger(service="test"), Metrics(namespace="Test", service="test"), quarantine=lambda: quarantine
    )
    consumer.accept("shop", {"Order Placed"})
    return consumer


def test_a_batch_function_gets_bundles_flattened_to_the_kinds_it_accepts_and_their_poison_goes_alone() -> None:
    # Given a single order, a bundle with an order, a kind the rollup does not accept and a poison order, and a
    # bundle with an order to deliver again and another poison one
    quarantine = KeptBodies()
    rollup = Rollup()
    batch = sqs_batch(
        [
            alone(order("o-1")),
            bundled(order("o-2"), BusEvent("v-3", "shop", "Page Viewed", {"order_id": "v-3"}), order("poison-4")),
            bundled(order("later-5"), order("poison-6")),
        ]
    )
    ids = [record["messageId"] for record in batch["Records"]]

    # When the rollup handles it
    answer = rollup_consumer(quarantine).handle_batch(batch, FakeLambdaContext(), rollup.apply)

    # Then it saw the accepted events in order, as EventBridge events (the inner id is the event id)
    assert rollup.seen == [["o-1", "o-2", "poison-4", "later-5", "poison-6"]]
    # And the bundle with the event to deliver again comes back whole, its poison not quarantined yet; the other
    # bundle's poison is quarantined alone
    assert failed_ids(answer) == [ids[2]]
    [(message_id, reason, body)] = quarantine.kept
    assert (message_id, reason) == (ids[1], "year out of range")
    assert body["id"] == "poison-4"
    assert body["detail"] == order("poison-4").detail


def test_when_a_batch_function_raises_every_bundle_comes_back() -> None:
    quarantine = KeptBodies()
    batch = sqs_batch([bundled(order("o-1"), order("poison-2")), alone(order("o-3"))])

    def apply(events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        raise throttled()

    answer = rollup_consumer(quarantine).handle_batch(batch, FakeLambdaContext(), apply)

    assert sorted(failed_ids(answer)) == sorted(record["messageId"] for record in batch["Records"])
    assert quarantine.kept == []


# ------------------------------------------------------------------------------------------ the publisher


def _events(count: int, size: int = 900, source: str = "omnichannel.capture") -> list[BusEvent]:
    kinds = ["page", "Product Added", "Order Completed"]
    return [
        BusEvent(f"e-{n:04d}", source, kinds[n % 3], {"event_id": f"e-{n:04d}", "padding": "ü" * (size // 2)})
        for n in range(count)
    ]


def test_bundles_fit_one_billed_chunk_keep_every_event_in_order_and_are_deterministic() -> None:
    # Given 300 events of about 1 KB (non-ASCII: sizes are bytes, not characters)
    events = _events(300)

    # When they are bundled
    packed = bundle(events, AT)

    # Then every entry fits one 64 KB chunk, with room for the envelope a queue adds, and as few as fit
    entries = [entry for entry, _ in packed]
    sizes = [
        entry_size({"Source": entry.source, "DetailType": entry.detail_type, "Detail": detail_json(entry.detail)})
        for entry in entries
    ]
    assert all(size <= MAX_BYTES_PER_BUNDLE for size in sizes)
    total = sum(len(detail_json(inner_event(event, AT)).encode()) for event in events)
    assert len(entries) == -(-total // MAX_BYTES_PER_BUNDLE) or len(entries) == -(-total // MAX_BYTES_PER_BUNDLE) + 1
    for entry in entries:
        envelope = bus_event(entry.source, entry.detail_type, entry.detail)
        assert len(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()) <= BILLING_CHUNK_BYTES
        assert entry.detail["kinds"] == sorted({inner["detail-type"] for inner in entry.detail["events"]})
    # And each inner event is what would have gone alone: the same id, detail-type and detail, in order
    inner = [item for entry in entries for item in entry.detail["events"]]
    assert inner == [inner_event(event, AT) for event in events]
    assert [event for _, carried in packed for event in carried] == events
    # And the same events make the same bundles
    assert [entry for entry, _ in bundle(events, AT)] == entries


def test_an_event_too_big_to_share_and_a_lone_event_go_alone() -> None:
    big = BusEvent("big", "omnichannel.capture", "page", {"event_id": "big", "padding": "x" * 70_000})
    [small] = _events(1)
    assert [entry for entry, _ in bundle([big, small], AT)] == [big, small]


def test_a_failed_bundle_fails_its_events_for_the_caller_and_a_refused_one_is_retried_alone() -> None:
    # Given 200 events (four bundles or so); the bus fails one bundle for a passing reason and refuses one event for
    # good
    events = _events(200)
    packed = bundle(events, AT)
    failing = {event.event_id for event in packed[0][1]}
    inner = InMemoryPublisher(fail_ids={"e-0000"}, errors={"e-0150": "MalformedDetail"})

    # When they are published in bundles
    result = BundlingPublisher(inner, clock=lambda: datetime(2026, 6, 1, 12, tzinfo=UTC)).publish(events)

    # Then the failed bundle's events fail each with the bus's code (the caller parks or retries them), the refused
    # event alone is refused, and every other event is published, each once
    assert {event_id for event_id, code in result.failed.items() if code == "InternalFailure"} == failing
    assert {event_id: code for event_id, code in result.failed.items() if code != "InternalFailure"} == {
        "e-0150": "MalformedDetail"
    }
    assert sorted(result.published) == sorted(event.event_id for event in events if event.event_id not in result.failed)
    assert len(result.published) == len(set(result.published))
    # And the refused bundle's other events went out alone
    alone_ids = {event.event_id for event in inner.events if event.detail_type != BUNDLE_DETAIL_TYPE}
    refused_bundle = next(carried for _, carried in packed if "e-0150" in {event.event_id for event in carried})
    assert alone_ids == {event.event_id for event in refused_bundle} - {"e-0150"}


def test_bundling_is_what_bus_bundling_says(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = InMemoryPublisher()
    monkeypatch.setenv("BUS_BUNDLING", "bundled")
    assert isinstance(bus_publisher(inner), BundlingPublisher)
    monkeypatch.setenv("BUS_BUNDLING", "single")
    assert bus_publisher(inner) is inner
    monkeypatch.setenv("BUS_BUNDLING", "sometimes")
    with pytest.raises(RuntimeError, match="BUS_BUNDLING"):
        bus_publisher(inner)


def test_a_bundle_expands_to_the_events_that_would_have_come_alone() -> None:
    events = _events(3)
    envelope = bundled(*events)
    expanded = expand_bundle(EventBridgeModel.model_validate(envelope))
    assert not isinstance(expanded, str)
    for (body, parsed), event in zip(expanded, events, strict=True):
        assert not isinstance(parsed, str)
        assert body == {**bus_event(event.source, event.detail_type, event.detail), "id": event.event_id}
        assert parsed.detail == event.detail
