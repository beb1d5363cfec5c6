"""Schedule entry point (every minute): the due sweep. Runs whose wait, deferred send (quiet hours) or survey
deadline has come take their next steps; effects whose announcement failed are announced again. One Query per
index shard finds them (the sparse ``by_due`` index); what does not fit one invocation is left for the next
minute. Why a sweep and not an EventBridge Scheduler schedule per wait: ``docs/journeys.md`` and
``bench/journeys.py``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys import wiring
from journeys.observability import logger, metrics, tracer
from journeys.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = wiring.get_service().sweep(
        limit=get_settings().sweep_limit, time_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    metrics.add_metric(name="JourneyRunsWoken", unit="Count", value=result.woken)
    metrics.add_metric(name="JourneyEffectsRepublished", unit="Count", value=result.republished)
    if result.left:
        logger.warning("more is due than one sweep took", extra={"customers": result.customers})
    return {"woken": result.woken, "republished": result.republished, "customers": result.customers}
