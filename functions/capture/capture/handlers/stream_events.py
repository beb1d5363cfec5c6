"""DynamoDB stream entry point: puts newly captured events on the bus.

The stream carries every new event item exactly once (the event source's filter passes only INSERTs of event
items; this handler checks again). Events go out in bundles (``BusBundling``, ``omnichannel.event_bus``: as many
events as fit one 64 KB entry; or one entry each when it is ``single``), in chunks of 10 entries with failed
entries retried; the bookkeeping stays per event: what still fails
for a passing reason is parked in the outbox for the scheduled relay, and what the bus refuses for good
(malformed, too large) goes to the outbox's dead-letter partition. A record this version cannot decode (the
model and the stored item disagree) does not hold up the batch either: its event id (read from the item's key,
never its payload) is logged as an error, counted (``UndecodableStreamRecords``) and dead-lettered. Only if
writing to the outbox fails is the batch reported back to the stream (from its first record), which retries
it: publication is at-least-once, never lost.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.dal.event_store import event_from_item, event_id_of_item, is_event_item
from capture.logic.capture_service import publish_or_park
from capture.logic.outbox_relay import UNDECODABLE
from capture.observability import logger, metrics, tracer
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.event_bus import bus_publisher


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    events: list[CanonicalEvent] = []
    undecodable: list[str] = []
    sequence_numbers: list[str] = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or not is_event_item(image):
            continue
        sequence_numbers.append(record["dynamodb"]["SequenceNumber"])
        try:
            events.append(event_from_item(image))
        except Exception as error:  # the error names the payload's values: log its type only
            event_id = event_id_of_item(image)
            undecodable.append(event_id)
            logger.error(
                "undecodable stream record: dead-lettered", extra={"event_id": event_id, "error": type(error).__name__}
            )
    try:
        store = wiring.get_event_store()
        outcome = publish_or_park(bus_publisher(wiring.get_publisher()), store, events)
        if undecodable:
            store.dead_letter(undecodable, reason=UNDECODABLE)
    except Exception:
        logger.exception("publishing failed and the outbox could not take the rest; the stream retries")
        metrics.add_metric(name="StreamBatchesRetried", unit="Count", value=1)
        first = min(sequence_numbers, key=int) if sequence_numbers else None
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    metrics.add_metric(name="EventsPublished", unit="Count", value=len(outcome.published))
    if outcome.parked:
        metrics.add_metric(name="EventsParkedInOutbox", unit="Count", value=len(outcome.parked))
        logger.warning("events parked in the outbox", extra={"count": len(outcome.parked)})
    if undecodable:
        metrics.add_metric(name="UndecodableStreamRecords", unit="Count", value=len(undecodable))
    if outcome.dead_lettered:
        logger.error(
            "the bus refuses these events for good: dead-lettered",
            extra={"event_ids": sorted(outcome.dead_lettered), "reasons": sorted(set(outcome.dead_lettered.values()))},
        )
    dead_lettered = len(outcome.dead_lettered) + len(undecodable)
    if dead_lettered:
        metrics.add_metric(name="OutboxDeadLettered", unit="Count", value=dead_lettered)
    return {"batchItemFailures": []}
