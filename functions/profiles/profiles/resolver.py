"""EventBridge entry point: every captured event's identifiers resolve to one profile.

The event's ``detail`` is the canonical event. Resolution is idempotent on its ``event_id``; a concurrent
change is retried inside (conditional writes), and only a lasting failure raises, so Lambda's asynchronous
retries and then the failure queue take the event: nothing is dropped silently.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from omnichannel.canonical_event import CanonicalEvent
from profiles import wiring
from profiles.logic.resolver_service import Outcome
from profiles.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        captured = CanonicalEvent.model_validate(event.get("detail") or {})
    except ValidationError as error:
        # Retrying cannot fix a malformed detail; say which fields (never their values) and drop it.
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        logger.error(
            "bus event is not a canonical event; not resolved", extra={"id": event.get("id"), "fields": fields}
        )
        metrics.add_metric(name="UnreadableEvents", unit=MetricUnit.Count, value=1)
        return {"outcome": "unreadable"}
    resolution = wiring.get_resolver().resolve(captured)
    metrics.add_metric(
        name=f"Profiles{resolution.outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    if resolution.attempts > 1:
        metrics.add_metric(name="ResolutionRetries", unit=MetricUnit.Count, value=resolution.attempts - 1)
    if resolution.conflicts:
        metrics.add_metric(name="IdentityConflicts", unit=MetricUnit.Count, value=resolution.conflicts)
    if resolution.outcome is not Outcome.UNCHANGED:
        logger.info(
            "resolved",
            extra={
                "event_id": captured.event_id,
                "outcome": resolution.outcome.value,
                "profile_id": resolution.profile_id,
                "merged_ids": list(resolution.merged_ids),
                "conflicts": resolution.conflicts,
            },
        )
    return {"outcome": resolution.outcome.value, "profile_id": resolution.profile_id}
