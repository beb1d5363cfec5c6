"""Scheduled entry point of the carts function: announce abandoned carts (``cart.abandoned``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from carts import wiring
from carts.logic.abandonment import sweep
from carts.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = sweep(wiring.get_service())
    metrics.add_metric(name="CartsAbandoned", unit="Count", value=len(result.announced))
    metrics.add_metric(name="AbandonmentsPending", unit="Count", value=len(result.failed))
    logger.info("sweep done", extra={"due": result.due, "announced": len(result.announced), "skipped": result.skipped})
    return {"due": result.due, "announced": len(result.announced), "failed": len(result.failed)}
