"""EventBridge entry point: ``profile.erased`` erases the customer from capture's table (``logic/erasure.py``).

The profiles function erases its own table and announces the identifiers the customer had; this deletes every
stored event that is only theirs and takes their identifiers out of events that are also someone else's (found
through the identifier indexes; whose else an event is, through the profiles table, read-only). Idempotent: a
redelivery finds nothing left to do. A failure raises, so Lambda's retries and then the failure queue take it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.logic.erasure import erase_customer_events
from capture.observability import logger, metrics, tracer
from capture.settings import get_settings
from omnichannel import aws_clients
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_directory import ProfileDirectory
from omnichannel.profile_events import ProfileErased


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    erased = ProfileErased.model_validate(event.get("detail") or {})
    identifiers = {(IdentifierType(kind), value) for kind, values in erased.identifiers.items() for value in values}
    settings = get_settings()
    directory = ProfileDirectory(settings.profiles_table_name, aws_clients.dynamodb())
    decision = erase_customer_events(
        wiring.get_event_store(),
        identifiers,
        {erased.profile_id, *erased.profile_ids},
        lambda identifier: directory.profile_of(*identifier),
        default_region=settings.default_phone_region,
    )
    metrics.add_metric(name="ErasedEvents", unit=MetricUnit.Count, value=len(decision.delete))
    metrics.add_metric(name="RedactedEvents", unit=MetricUnit.Count, value=len(decision.redact))
    logger.info(
        "captured events erased",
        extra={
            "profile_id": erased.profile_id,
            "identifiers": len(identifiers),
            "events_deleted": len(decision.delete),
            "events_redacted": len(decision.redact),
        },
    )
    return {"events_deleted": len(decision.delete), "events_redacted": len(decision.redact)}
