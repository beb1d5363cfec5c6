"""Bus entry point: capture events, profile events and ``cart.recovered`` roll up into the KPI table.

An event that can never be counted (bad amount, unknown currency code, malformed detail) is logged by field and
dropped; anything else that fails raises, so EventBridge retries it and parks it on the failure queue at last.
Redelivery is harmless: every change is idempotent on the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from kpis import wiring
from kpis.logic.dispatch import UncountableEvent, apply
from kpis.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    source, detail_type = str(event.get("source", "")), str(event.get("detail-type", ""))
    detail = event.get("detail") or {}
    event_id = str(detail.get("event_id", "")) if isinstance(detail, dict) else ""
    try:
        outcome = apply(wiring.get_service(), source, detail_type, detail)
    except UncountableEvent as error:
        logger.warning(
            "event not counted", extra={"event_id": event_id, "detail_type": detail_type, "reason": str(error)}
        )
        metrics.add_metric(name="KpiEventsUncountable", unit="Count", value=1)
        return {"outcome": "uncountable"}
    except ValidationError as error:
        fields = [".".join(str(part) for part in item["loc"]) for item in error.errors()]
        logger.warning("malformed event", extra={"event_id": event_id, "detail_type": detail_type, "fields": fields})
        metrics.add_metric(name="KpiEventsUncountable", unit="Count", value=1)
        return {"outcome": "malformed"}
    metrics.add_metric(name=f"KpiEvents{outcome.capitalize()}", unit="Count", value=1)
    logger.debug("event applied", extra={"event_id": event_id, "outcome": outcome})
    return {"outcome": outcome}
