"""Bus entry point (one EventBridge event per invocation): capture events, profile events and
``cart.recovered`` roll up into the KPI table through ``RollupService.apply_batch`` (a batch of one), as the
queue-fed batch entry point does with many.

An event that can never be counted (bad amount, unknown currency code, malformed detail) is logged by field and
dropped; anything else that fails raises, so EventBridge retries it and parks it on the failure queue at last.
Redelivery is harmless: every change is idempotent on the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kpis import wiring
from kpis.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    detail = event.get("detail")
    event_id = str(detail.get("event_id", "")) if isinstance(detail, dict) else ""
    result = wiring.get_rollup_service().apply_batch([event])
    outcome = result.outcomes[0]
    if 0 in result.poison:
        logger.warning(
            "event not counted",
            extra={"event_id": event_id, "detail_type": event.get("detail-type"), "reason": result.poison[0]},
        )
        metrics.add_metric(name="KpiEventsUncountable", unit="Count", value=1)
        return {"outcome": "malformed" if result.poison[0].startswith("malformed") else outcome}
    metrics.add_metric(name=f"KpiEvents{outcome.capitalize()}", unit="Count", value=1)
    logger.debug("event applied", extra={"event_id": event_id, "outcome": outcome})
    return {"outcome": outcome}
