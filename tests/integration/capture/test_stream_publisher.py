from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from capture import wiring
from capture.dal.event_store import DynamoDBEventStore
from capture.handlers import stream_events as stream_publisher
from capture.logic.capture_service import CaptureService, IncomingEvent
from omnichannel.canonical_event import MAX_DETAIL_TYPE_LENGTH, CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.event_bus import (
    ENTRY_TOO_LARGE,
    MAX_BYTES_PER_ENTRY,
    EventBridgePublisher,
    InMemoryPublisher,
    detail_json,
    entry_size,
)
from omnichannel.identifiers import IdentifierType
from tests.support.moto_tables import stream_records

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Context:
    function_name = "CaptureStreamPublisherFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:CaptureStreamPublisherFunction"
    aws_request_id = "test"


def _incoming(message_id: str, name: str = "Product Added", **properties: Any) -> IncomingEvent:
    return IncomingEvent(
        CanonicalEvent(
            event_id=event_id_for("test", message_id),
            message_id=message_id,
            source="test",
            type=EventType.TRACK,
            name=name,
            channel=Channel.APP,
            identifiers={IdentifierType.ANONYMOUS_ID: "a-1"},
            occurred_at=T0,
            received_at=T0,
            properties={"sku": "SKU-1", "price": 12.5, **properties},
        )
    )


def _records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _dead_letters(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in dynamodb.scan(TableName="events")["Items"] if item["pk"]["S"] == "OUTBOX#DEAD"]


@pytest.fixture
def wired(store: DynamoDBEventStore) -> Any:
    bus = InMemoryPublisher()
    wiring.override(publisher=bus)
    wiring._wiring.store = store
    yield bus
    wiring.reset()


def test_new_events_on_the_stream_reach_the_bus_once(store: DynamoDBEventStore, dynamodb: Any, wired: Any) -> None:
    # Given 25 events captured, then the same 25 again (a client retry)
    batch = [_incoming(f"m{i}") for i in range(25)]
    CaptureService(store).capture(batch)
    CaptureService(store).capture(batch)
    records = stream_records(dynamodb, "events")
    # When the stream publisher gets the stream's records
    answer = stream_publisher.lambda_handler({"Records": records}, Context())
    # Then each event is on the bus exactly once, as the canonical event
    assert answer == {"batchItemFailures": []}
    assert sorted(event.event_id for event in wired.events) == sorted(item.event.event_id for item in batch)
    first = wired.events[0]
    assert first.source == "omnichannel.capture"
    assert first.detail_type == "Product Added"
    expected = next(item.event for item in batch if item.event.event_id == first.event_id)
    assert first.detail == expected.to_bus_detail()
    # And serialised as EventBridgePublisher sends it, the detail reads back as the same event and fits an entry
    entry = EventBridgePublisher(None, "bus")._entry(first)
    assert CanonicalEvent.model_validate_json(entry["Detail"]) == expected
    assert entry["DetailType"] == "Product Added"
    assert entry_size(entry) <= MAX_BYTES_PER_ENTRY


def test_records_that_are_not_new_events_are_ignored(store: DynamoDBEventStore, dynamodb: Any, wired: Any) -> None:
    # Given an outbox write and an event deletion on the stream, besides one new event
    CaptureService(store).capture([_incoming("m1")])
    store.add_to_outbox(["x"])
    dynamodb.delete_item(
        TableName="events", Key={"pk": {"S": "EVENT#" + _incoming("m1").event.event_id}, "sk": {"S": "EVENT"}}
    )
    records = stream_records(dynamodb, "events")
    assert {record["eventName"] for record in records} == {"INSERT", "REMOVE"}
    stream_publisher.lambda_handler({"Records": records}, Context())
    assert [event.event_id for event in wired.events] == [_incoming("m1").event.event_id]


def test_what_the_bus_refuses_is_parked_in_the_outbox(store: DynamoDBEventStore, dynamodb: Any) -> None:
    batch = [_incoming(f"m{i}") for i in range(3)]
    CaptureService(store).capture(batch)
    refused = batch[1].event.event_id
    wiring.override(publisher=InMemoryPublisher(fail_ids={refused}))
    wiring._wiring.store = store
    try:
        answer = stream_publisher.lambda_handler({"Records": stream_records(dynamodb, "events")}, Context())
    finally:
        wiring.reset()
    assert answer == {"batchItemFailures": []}
    outbox = [item for item in dynamodb.scan(TableName="events")["Items"] if item["pk"]["S"].startswith("OUTBOX#")]
    assert [item["event_ids"]["SS"] for item in outbox] == [[refused]]


def test_when_the_outbox_fails_too_the_stream_retries_from_the_first_record(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    batch = [_incoming(f"m{i}") for i in range(3)]
    CaptureService(store).capture(batch)
    records = stream_records(dynamodb, "events")

    class BrokenOutbox(DynamoDBEventStore):
        def add_to_outbox(self, event_ids: Any, **_: Any) -> Any:
            raise RuntimeError("table unavailable")

    wiring.override(publisher=InMemoryPublisher(fail_ids={item.event.event_id for item in batch}))
    wiring._wiring.store = BrokenOutbox(dynamodb, "events")
    try:
        answer = stream_publisher.lambda_handler({"Records": records}, Context())
    finally:
        wiring.reset()
    first_sequence = min((record["dynamodb"]["SequenceNumber"] for record in records), key=int)
    assert answer == {"batchItemFailures": [{"itemIdentifier": first_sequence}]}


def test_an_undecodable_record_is_dead_lettered_and_does_not_block_the_batch(
    store: DynamoDBEventStore,
    dynamodb: Any,
    wired: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given three new events, one of which this version cannot read (the model and the stored item disagree)
    batch = [_incoming(f"m{i}") for i in range(3)]
    CaptureService(store).capture(batch)
    records = stream_records(dynamodb, "events")
    bad = batch[1].event.event_id
    [bad_record] = [record for record in records if record["dynamodb"]["NewImage"]["pk"]["S"] == "EVENT#" + bad]
    bad_record["dynamodb"]["NewImage"]["event"]["S"] = json.dumps(
        {"event_id": bad, "type": "teleport", "properties": {"email": "private@example.com"}}
    )
    capfd.readouterr()
    # When the stream publisher gets the batch
    answer = stream_publisher.lambda_handler({"Records": records}, Context())
    # Then the batch succeeds, the two good events are on the bus and the bad one is in the dead-letter partition
    assert answer == {"batchItemFailures": []}
    assert sorted(event.event_id for event in wired.events) == sorted(
        item.event.event_id for item in batch if item.event.event_id != bad
    )
    [dead] = _dead_letters(dynamodb)
    assert (dead["event_ids"]["SS"], dead["reason"]["S"]) == ([bad], "Undecodable")
    # And it was counted, and logged at error level by its id, never with its payload
    output = capfd.readouterr().out
    metrics = next(record for record in _records(output) if "UndecodableStreamRecords" in record)
    assert metrics["UndecodableStreamRecords"] == [1.0]
    assert metrics["OutboxDeadLettered"] == [1.0]
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [getattr(record, "event_id", None) for record in errors] == [bad]
    logged = output + "".join(str(vars(record)) for record in caplog.records)
    assert "private@example.com" not in logged
    assert "teleport" not in logged


def test_an_event_too_large_for_the_bus_is_dead_lettered_not_sent(
    store: DynamoDBEventStore, dynamodb: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a stored event whose detail cannot fit in a PutEvents entry, beside a normal one
    big, small = _incoming("big", notes="x" * 300_000), _incoming("small")
    CaptureService(store).capture([big, small])
    sent: list[str] = []

    class Bus:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            sent.extend(json.loads(entry["Detail"])["event_id"] for entry in Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "x"} for _ in Entries]}

    wiring.override(publisher=EventBridgePublisher(Bus(), "bus", sleep=lambda _: None))
    wiring._wiring.store = store
    try:
        answer = stream_publisher.lambda_handler({"Records": stream_records(dynamodb, "events")}, Context())
    finally:
        wiring.reset()
    # Then only the small one was sent, and the big one is dead-lettered with its own reason, not parked for retries
    assert answer == {"batchItemFailures": []}
    assert sent == [small.event.event_id]
    [dead] = _dead_letters(dynamodb)
    assert (dead["event_ids"]["SS"], dead["reason"]["S"]) == ([big.event.event_id], ENTRY_TOO_LARGE)
    outbox = [item for item in dynamodb.scan(TableName="events")["Items"] if item["pk"]["S"].startswith("OUTBOX#")]
    assert outbox == [dead]
    metrics = next(record for record in _records(capfd.readouterr().out) if "OutboxDeadLettered" in record)
    assert metrics["OutboxDeadLettered"] == [1.0]


def test_a_long_event_name_goes_out_with_a_detail_type_the_bus_accepts(
    store: DynamoDBEventStore, dynamodb: Any, wired: Any
) -> None:
    name = "Checkout Step Completed " * 42  # 1008 characters: a valid Segment event name
    CaptureService(store).capture([_incoming("m1", name=name)])
    stream_publisher.lambda_handler({"Records": stream_records(dynamodb, "events")}, Context())
    [published] = wired.events
    assert published.detail_type == name[:MAX_DETAIL_TYPE_LENGTH]
    assert published.detail["name"] == name


def test_bundled_a_stream_batch_goes_out_in_few_entries_and_a_failed_bundle_parks_its_events(
    store: DynamoDBEventStore, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 120 captured events of about 1 KB, bundling on (template.yaml's default), and a bus that fails (for a
    # passing reason) the entry that carries one of them
    monkeypatch.setenv("BUS_BUNDLING", "bundled")
    batch = [_incoming(f"m{i}", note="n" * 700) for i in range(120)]
    CaptureService(store).capture(batch)
    refused = batch[5].event.event_id
    bus = InMemoryPublisher(fail_ids={refused})
    wiring.override(publisher=bus)
    wiring._wiring.store = store
    try:
        answer = stream_publisher.lambda_handler({"Records": stream_records(dynamodb, "events")}, Context())
    finally:
        wiring.reset()

    # Then the batch is done; the events went out in a few bundles of at most one 64 KB chunk each
    assert answer == {"batchItemFailures": []}
    assert all(event.detail_type == "bundle" for event in bus.events)
    assert 1 <= len(bus.events) <= 3
    for entry in bus.events:
        size = entry_size(
            {"Source": entry.source, "DetailType": entry.detail_type, "Detail": detail_json(entry.detail)}
        )
        assert size <= 64 * 1024
    # And each inner event is the canonical event as it would have gone alone, with its deterministic id
    published = {inner["id"]: inner for entry in bus.events for inner in entry.detail["events"]}
    parked = [item for item in dynamodb.scan(TableName="events")["Items"] if item["pk"]["S"].startswith("OUTBOX#")]
    [parked_ids] = [item["event_ids"]["SS"] for item in parked]
    assert refused in parked_ids
    assert set(published) | set(parked_ids) == {item.event.event_id for item in batch}
    assert not set(published) & set(parked_ids)
    # (which events share the refused one's bundle depends on the stream's order: take one that went out)
    one = next(item.event for item in reversed(batch) if item.event.event_id in published)
    assert published[one.event_id]["detail"] == json.loads(json.dumps(one.to_bus_detail(), default=str))
    assert published[one.event_id]["detail-type"] == one.detail_type
