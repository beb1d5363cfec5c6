"""DynamoDB stream entry point: puts newly captured events on the bus.

The stream carries every new event item exactly once (the event source's filter passes only INSERTs of event
items; this handler checks again). Events go out in chunks of 10 with failed entries retried; what still fails
is parked in the outbox for the scheduled relay. Only if parking fails too is the batch reported back to the
stream (from the first such record), which retries it: publication is at-least-once, never lost.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.dal.event_store import event_from_item, is_event_item
from capture.logic.capture_service import publish_or_park
from capture.observability import logger, metrics, tracer
from omnichannel.canonical_event import CanonicalEvent


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    events: list[CanonicalEvent] = []
    sequence_numbers: dict[str, str] = {}
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or not is_event_item(image):
            continue
        captured = event_from_item(image)
        events.append(captured)
        sequence_numbers[captured.event_id] = record["dynamodb"]["SequenceNumber"]
    try:
        parked = publish_or_park(wiring.get_publisher(), wiring.get_event_store(), events)
    except Exception:
        logger.exception("publishing failed and the outbox could not take the rest; the stream retries")
        metrics.add_metric(name="StreamBatchesRetried", unit="Count", value=1)
        first = min(sequence_numbers.values(), key=int) if sequence_numbers else None
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    metrics.add_metric(name="EventsPublished", unit="Count", value=len(events) - len(parked))
    if parked:
        metrics.add_metric(name="EventsParkedInOutbox", unit="Count", value=len(parked))
        logger.warning("events parked in the outbox", extra={"count": len(parked)})
    return {"batchItemFailures": []}
