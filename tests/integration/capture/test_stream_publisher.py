from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from capture import stream_publisher, wiring
from capture.dal.event_store import DynamoDBEventStore
from capture.logic.capture_service import CaptureService, IncomingEvent
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.identifiers import IdentifierType
from tests.support.moto_tables import stream_records

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Context:
    function_name = "CaptureStreamPublisherFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:CaptureStreamPublisherFunction"
    aws_request_id = "test"


def _incoming(message_id: str) -> IncomingEvent:
    return IncomingEvent(
        CanonicalEvent(
            event_id=event_id_for("test", message_id),
            message_id=message_id,
            source="test",
            type=EventType.TRACK,
            name="Product Added",
            channel=Channel.APP,
            identifiers={IdentifierType.ANONYMOUS_ID: "a-1"},
            occurred_at=T0,
            received_at=T0,
            properties={"sku": "SKU-1", "price": 12.5},
        )
    )


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
    assert CanonicalEvent.model_validate(first.detail) in [item.event for item in batch]
    assert json.dumps(first.detail)  # serialisable as it will be sent


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
        def add_to_outbox(self, event_ids: Any) -> Any:
            raise RuntimeError("table unavailable")

    wiring.override(publisher=InMemoryPublisher(fail_ids={item.event.event_id for item in batch}))
    wiring._wiring.store = BrokenOutbox(dynamodb, "events")
    try:
        answer = stream_publisher.lambda_handler({"Records": records}, Context())
    finally:
        wiring.reset()
    first_sequence = min((record["dynamodb"]["SequenceNumber"] for record in records), key=int)
    assert answer == {"batchItemFailures": [{"itemIdentifier": first_sequence}]}
