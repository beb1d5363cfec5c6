"""Scheduled entry point: publish what the stream publisher parked in the outbox (see logic/outbox_relay.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.logic.outbox_relay import relay_outbox
from capture.observability import logger, metrics, tracer
from capture.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    grace = timedelta(seconds=get_settings().outbox_grace_seconds)
    result = relay_outbox(wiring.get_event_store(), wiring.get_publisher(), now=wiring.now(), grace=grace)
    metrics.add_metric(name="OutboxPublished", unit="Count", value=result.published)
    metrics.add_metric(name="OutboxStillUnpublished", unit="Count", value=result.still_unpublished)
    logger.info("outbox relayed", extra={"entries": result.entries, "published": result.published})
    return {"entries": result.entries, "published": result.published, "still_unpublished": result.still_unpublished}
