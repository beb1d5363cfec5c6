"""Scheduled entry point (daily): the lifecycle stages that time alone changes (recency thresholds)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kpis import wiring
from kpis.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    changed = wiring.get_service().review()
    metrics.add_metric(name="LifecycleStagesChangedByTime", unit="Count", value=changed)
    return {"changed": changed}
