"""The table's stream is the outbox: an event is announced because a change was stored, never instead of it.

Every function that announces events writes them *with* the change they announce: in the same item write, as the
item's ``outbox`` attribute (the events' JSON, zlib-compressed), or implied by the item itself (profiles derives
``profile.*`` from the profile items it writes; capture's event items are their own announcement). The table's
DynamoDB stream then carries each write to a stream publisher, which puts the events on the bus with
:func:`publish_stream_batch`. A write and its announcement can no longer part: if the bus refuses, the stream
retries the records (from the first one whose events failed), then bisects, then parks the batch on its on-failure
queue; events the bus refuses for good (malformed, too large) are logged, counted as ``OutboxDeadLettered`` (an
alarm watches it) and skipped, since retrying cannot help. Event ids are derived from what was written, so a
record published twice announces the same ids and consumers drop the repeat.

An item keeps its ``outbox`` until its next write replaces it; a stream record announces only the events its new
image has and its old image had not (the stream's view type is ``NEW_AND_OLD_IMAGES``), so an unrelated update of
the item announces nothing again.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from omnichannel.event_bus import PERMANENT_ERRORS, BusEvent, EventPublisher

OUTBOX_ATTRIBUTE = "outbox"
Image = Mapping[str, Any]  # a stream record's image, in DynamoDB's attribute-value form
EventsOf = Callable[[Image, Image], Sequence[BusEvent]]  # (new image, old image) -> what the write announces


def outbox_bytes(events: Sequence[BusEvent]) -> bytes:
    """The value of an item's ``outbox`` attribute (binary) for ``events``."""
    document = [
        {"id": event.event_id, "source": event.source, "type": event.detail_type, "detail": event.detail}
        for event in events
    ]
    return zlib.compress(json.dumps(document, separators=(",", ":"), default=str).encode(), 6)


def outbox_value(events: Sequence[BusEvent]) -> dict[str, bytes]:
    """The same, in DynamoDB's attribute-value form."""
    return {"B": outbox_bytes(events)}


def outbox_events(image: Image | None) -> list[BusEvent]:
    """The events an image's ``outbox`` attribute holds (binary as boto3 gives it, or base64 as Lambda does)."""
    value = (image or {}).get(OUTBOX_ATTRIBUTE)
    if not value or "B" not in value:
        return []
    data = value["B"]
    raw = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    return [
        BusEvent(str(entry["id"]), str(entry["source"]), str(entry["type"]), entry["detail"])
        for entry in json.loads(zlib.decompress(raw))
    ]


def announced_by_outbox(new: Image, old: Image) -> list[BusEvent]:
    """The events the write put in the item's outbox that its previous version had not announced."""
    before = {event.event_id for event in outbox_events(old)}
    return [event for event in outbox_events(new) if event.event_id not in before]


def publish_stream_batch(
    records: Sequence[Mapping[str, Any]],
    publisher: EventPublisher,
    events_of: EventsOf,
    *,
    logger: Logger,
    metrics: Metrics,
) -> dict[str, list[dict[str, str]]]:
    """Publish what a DynamoDB stream batch announces; the partial batch response for the stream."""
    entries: list[tuple[str, BusEvent]] = []
    for record in records:
        change = record.get("dynamodb") or {}
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        for event in events_of(change.get("NewImage") or {}, change.get("OldImage") or {}):
            entries.append((str(change.get("SequenceNumber")), event))
    if not entries:
        return {"batchItemFailures": []}
    unique = list({event.event_id: event for _, event in entries}.values())
    result = publisher.publish(unique)
    refused = {event_id: code for event_id, code in result.failed.items() if code in PERMANENT_ERRORS}
    retry = {event_id for event_id in result.failed if event_id not in refused}
    metrics.add_metric(name="OutboxEventsPublished", unit=MetricUnit.Count, value=len(result.published))
    if refused:
        metrics.add_metric(name="OutboxDeadLettered", unit=MetricUnit.Count, value=len(refused))
        logger.error(
            "the bus refuses these events for good: not retried",
            extra={"event_ids": sorted(refused), "reasons": sorted(set(refused.values()))},
        )
    if not retry:
        return {"batchItemFailures": []}
    first = next(sequence for sequence, event in entries if event.event_id in retry)
    logger.warning("events not published; the stream retries", extra={"event_ids": sorted(retry)})
    return {"batchItemFailures": [{"itemIdentifier": first}]}
