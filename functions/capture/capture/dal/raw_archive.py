"""The data lake's entrance: every accepted message, raw as it arrived and in its canonical form, to a Firehose
stream that writes date-partitioned, GZIP-compressed JSON Lines to S3 (a Glue table reads them for Athena;
template.yaml, docs/scale.md).

One ``PutRecordBatch`` per request: the request's lines are packed into as few Firehose records as fit (a record
holds at most 1,000 KiB; Firehose bills each record rounded up to 5 KB, so one record per request, not one per
message). Records Firehose reports failed are sent again; if some still fail the request fails (5xx) and the
client sends it again: the lake is at-least-once, a message may be archived twice, never lost. Its lines carry
``event_id`` to tell copies apart. Nothing above this module touches boto3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from capture.logic.capture_service import IncomingEvent
from omnichannel.canonical_event import utc_iso
from omnichannel.retry import RetriesExhausted, attempts

MAX_RECORD_BYTES = 1_000 * 1024
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
ATTEMPTS = 3


def lake_line(incoming: IncomingEvent) -> bytes:
    """One JSON Lines row: the envelope fields analysts filter on, the canonical event and the raw message (both as
    JSON text, so the table's schema never changes with them)."""
    event = incoming.event
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "message_id": event.message_id,
        "source": event.source,
        "type": event.type.value,
        "name": event.name,
        "channel": event.channel.value,
        "occurred_at": utc_iso(event.occurred_at),
        "received_at": utc_iso(event.received_at),
        "identifiers": {str(kind): value for kind, value in event.identifiers.items()},
        "event": incoming.json(),
        "raw": incoming.raw,
    }
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def pack(lines: Sequence[bytes]) -> Iterator[bytes]:
    """Lines joined into records of at most ``MAX_RECORD_BYTES`` (a longer line is a record of its own)."""
    record = b""
    for line in lines:
        if record and len(record) + len(line) > MAX_RECORD_BYTES:
            yield record
            record = b""
        record += line
    if record:
        yield record


class FirehoseRawArchive:
    def __init__(self, client: Any, stream_name: str) -> None:
        self._client = client
        self._stream = stream_name

    def keep(self, events: Sequence[IncomingEvent]) -> None:
        records = list(pack([lake_line(incoming) for incoming in events]))
        start = 0
        while start < len(records):
            batch: list[bytes] = []
            size = 0
            while (
                start < len(records)
                and len(batch) < MAX_BATCH_RECORDS
                and size + len(records[start]) <= MAX_BATCH_BYTES
            ):
                batch.append(records[start])
                size += len(records[start])
                start += 1
            if not batch:  # one record larger than a whole call allows: cannot happen below MAX_RECORD_BYTES
                batch, start = [records[start]], start + 1
            self._put(batch)

    def _put(self, records: list[bytes]) -> None:
        pending = records
        for _attempt in attempts(ATTEMPTS, base=0.05, cap=0.5):
            answer = self._client.put_record_batch(
                DeliveryStreamName=self._stream, Records=[{"Data": data} for data in pending]
            )
            if not answer.get("FailedPutCount"):
                return
            pending = [
                data
                for data, outcome in zip(pending, answer.get("RequestResponses", []), strict=True)
                if outcome.get("ErrorCode")
            ]
        raise RetriesExhausted(f"Firehose refused {len(pending)} of the request's lake records")
