"""The table's stream as the outbox (omnichannel.stream_outbox): what a write carries is announced, each event once
per write; a bus that refuses makes the stream retry from the first record whose events failed; what the bus
refuses for good is counted and skipped."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from omnichannel.event_bus import BusEvent, InMemoryPublisher
from omnichannel.stream_outbox import announced_by_outbox, outbox_events, outbox_value, publish_stream_batch


def event(number: int) -> BusEvent:
    return BusEvent(f"e-{number}", "test.source", "thing.happened", {"event_id": f"e-{number}", "n": number})


def record(sequence: int, new: list[BusEvent], old: list[BusEvent] | None = None) -> dict[str, Any]:
    images: dict[str, Any] = {
        "SequenceNumber": str(sequence),
        "NewImage": {"pk": {"S": "X"}, "outbox": outbox_value(new)},
    }
    if old is not None:
        images["OldImage"] = {"pk": {"S": "X"}, "outbox": outbox_value(old)}
    return {"eventName": "MODIFY" if old is not None else "INSERT", "dynamodb": images}


def publish(records: list[dict[str, Any]], publisher: InMemoryPublisher) -> dict[str, Any]:
    metrics = Metrics(namespace="Test", service="test")
    return publish_stream_batch(records, publisher, announced_by_outbox, logger=Logger(service="test"), metrics=metrics)


def test_an_outbox_reads_back_from_boto3_bytes_and_from_a_lambda_record() -> None:
    value = outbox_value([event(1), event(2)])

    assert [e.event_id for e in outbox_events({"outbox": value})] == ["e-1", "e-2"]
    as_lambda_gives_it = {"outbox": {"B": base64.b64encode(value["B"]).decode()}}
    assert outbox_events(as_lambda_gives_it) == outbox_events({"outbox": value})
    assert outbox_events({"pk": {"S": "no outbox"}}) == []


def test_a_write_announces_only_what_its_previous_version_had_not() -> None:
    # Given a first write with e-1, then an update that keeps e-1 and adds e-2, then one that changes nothing else
    publisher = InMemoryPublisher()
    records = [
        record(1, [event(1)]),
        record(2, [event(1), event(2)], old=[event(1)]),
        record(3, [event(2)], old=[event(2)]),
    ]

    # When the stream batch is published
    answer = publish(records, publisher)

    # Then each event went out once
    assert answer == {"batchItemFailures": []}
    assert [e.event_id for e in publisher.events] == ["e-1", "e-2"]


def test_a_refusal_makes_the_stream_retry_from_the_first_record_whose_events_failed() -> None:
    # Given a bus that fails the event of the second record
    publisher = InMemoryPublisher(fail_ids={"e-2"})

    # When a batch of three records is published
    answer = publish([record(10, [event(1)]), record(11, [event(2)]), record(12, [event(3)])], publisher)

    # Then the stream is told to go again from the second record (the others are out; a repeat is deduped)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert [e.event_id for e in publisher.events] == ["e-1", "e-3"]


def test_what_the_bus_refuses_for_good_is_skipped_not_retried_forever() -> None:
    publisher = InMemoryPublisher(errors={"e-1": "MalformedDetail"})

    answer = publish([record(20, [event(1)]), record(21, [event(2)])], publisher)

    assert answer == {"batchItemFailures": []}
    assert [e.event_id for e in publisher.events] == ["e-2"]
