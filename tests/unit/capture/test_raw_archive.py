"""The data lake's entrance (capture.dal.raw_archive): a request's messages in as few Firehose records as fit, the
refused ones sent again, and a request that still cannot archive fails rather than losing its raw messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from capture.dal.raw_archive import MAX_RECORD_BYTES, FirehoseRawArchive, lake_line, pack
from capture.logic.capture_service import IncomingEvent
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.retry import RetriesExhausted

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def incoming(message_id: str, raw: str = '{"type":"track"}') -> IncomingEvent:
    event = CanonicalEvent(
        event_id=event_id_for("web", message_id),
        message_id=message_id,
        source="web",
        type=EventType.TRACK,
        name="Product Added",
        channel=Channel.WEB,
        identifiers={"anonymous_id": "a-1"},
        occurred_at=T0,
        received_at=T0,
        properties={"sku": "SKU-1"},
    )
    return IncomingEvent(event=event, raw=raw)


class Firehose:
    """PutRecordBatch that fails the records whose data contains a marker, the first ``fail_times`` times."""

    def __init__(self, fail_times: int = 0, marker: bytes = b"flaky") -> None:
        self.calls: list[list[bytes]] = []
        self.fail_times = fail_times
        self.marker = marker

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        data = [record["Data"] for record in Records]
        self.calls.append(data)
        failing = len(self.calls) <= self.fail_times
        responses = [
            {"ErrorCode": "ServiceUnavailableException"} if failing and self.marker in item else {"RecordId": "r"}
            for item in data
        ]
        return {"FailedPutCount": sum("ErrorCode" in r for r in responses), "RequestResponses": responses}


def test_a_line_holds_the_envelope_the_canonical_event_and_the_raw_message() -> None:
    line = lake_line(incoming("m-1", raw='{"messageId":"m-1","properties":{"sku":"SKU-1"}}'))

    assert line.endswith(b"\n")
    row = json.loads(line)
    assert row["event_id"] == event_id_for("web", "m-1")
    assert (row["channel"], row["type"], row["name"]) == ("web", "track", "Product Added")
    assert row["identifiers"] == {"anonymous_id": "a-1"}
    assert json.loads(row["event"])["properties"] == {"sku": "SKU-1"}
    assert json.loads(row["raw"]) == {"messageId": "m-1", "properties": {"sku": "SKU-1"}}


def test_a_request_is_one_record_of_one_call_however_many_messages_it_carries() -> None:
    # Given a batch request of 100 messages
    firehose = Firehose()

    # When it is archived
    FirehoseRawArchive(firehose, "lake").keep([incoming(f"m-{i}") for i in range(100)])

    # Then it was one PutRecordBatch of one record (Firehose bills records rounded up to 5 KB) of 100 lines
    [call] = firehose.calls
    [record] = call
    assert len(record.splitlines()) == 100


def test_records_never_exceed_firehose_s_record_limit() -> None:
    lines = [b"x" * 300_000 + b"\n" for _ in range(7)]

    records = list(pack(lines))

    assert all(len(record) <= MAX_RECORD_BYTES for record in records)
    assert b"".join(records) == b"".join(lines)
    assert len(records) == 3


def test_refused_records_are_sent_again_alone() -> None:
    # Given a stream that refuses one record once
    firehose = Firehose(fail_times=1)
    big = "flaky" + "y" * 600_000

    # When a request whose messages span two records is archived
    FirehoseRawArchive(firehose, "lake").keep([incoming("m-1"), incoming("m-2", raw=big), incoming("m-3", raw=big)])

    # Then the second call carried only what was refused
    assert len(firehose.calls) == 2
    assert len(firehose.calls[1]) == len([data for data in firehose.calls[0] if b"flaky" in data])


def test_a_request_that_cannot_be_archived_fails() -> None:
    firehose = Firehose(fail_times=99)

    with pytest.raises(RetriesExhausted):
        FirehoseRawArchive(firehose, "lake").keep([incoming("m-1", raw='"flaky"')])
