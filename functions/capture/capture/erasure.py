"""EventBridge entry point: ``profile.erased`` deletes the customer's captured events from capture's table.

The profiles function erases its own table and announces the identifiers the customer had; this deletes every
stored event carrying any of them (found through the identifier indexes). Idempotent: a redelivery finds
nothing left to delete. A failure raises, so Lambda's retries and then the failure queue take the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.observability import logger, metrics, tracer
from omnichannel.profile_events import ProfileErased


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    erased = ProfileErased.model_validate(event.get("detail") or {})
    identifiers = [(kind.value, value) for kind, values in erased.identifiers.items() for value in values]
    deleted = wiring.get_event_store().erase_events_of(identifiers)
    metrics.add_metric(name="ErasedEvents", unit=MetricUnit.Count, value=deleted)
    logger.info(
        "captured events erased",
        extra={"profile_id": erased.profile_id, "identifiers": len(identifiers), "events_deleted": deleted},
    )
    return {"events_deleted": deleted}
