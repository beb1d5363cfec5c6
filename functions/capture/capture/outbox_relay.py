"""Scheduled entry point: publish what the capture API stored but could not publish (see logic/outbox_relay.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.dal.event_store import DynamoDBEventStore
from capture.logic.outbox_relay import relay_outbox
from capture.observability import logger, metrics, tracer
from capture.settings import get_settings
from omnichannel import aws_clients


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = get_settings()
    store = DynamoDBEventStore(
        aws_clients.dynamodb(),
        settings.events_table_name,
        retention_days=settings.raw_event_retention_days,
        outbox_shards=settings.outbox_shards,
    )
    result = relay_outbox(
        store, wiring.get_publisher(), now=wiring.now(), grace=timedelta(seconds=settings.outbox_grace_seconds)
    )
    metrics.add_metric(name="OutboxPublished", unit="Count", value=result.published)
    metrics.add_metric(name="OutboxStillUnpublished", unit="Count", value=result.still_unpublished)
    logger.info("outbox relayed", extra={"entries": result.entries, "published": result.published})
    return {"entries": result.entries, "published": result.published, "still_unpublished": result.still_unpublished}
