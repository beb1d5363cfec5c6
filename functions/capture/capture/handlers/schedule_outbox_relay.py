"""Scheduled entry point: publish what the stream publisher parked in the outbox (see logic/outbox_relay.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.logic.outbox_relay import relay_outbox
from capture.observability import logger, metrics, tracer
from capture.settings import get_settings

# Stop taking entries when less time than this is left: the rest stay due for the next run.
RESERVE_MILLIS = 10_000


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = get_settings()
    result = relay_outbox(
        wiring.get_event_store(),
        wiring.get_publisher(),
        now=wiring.now(),
        grace=timedelta(seconds=settings.outbox_grace_seconds),
        budget=settings.outbox_relay_budget,
        out_of_time=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS,
    )
    metrics.add_metric(name="OutboxPublished", unit="Count", value=result.published)
    metrics.add_metric(name="OutboxStillUnpublished", unit="Count", value=result.still_unpublished)
    metrics.add_metric(name="OutboxDeadLettered", unit="Count", value=len(result.dead_lettered))
    if result.dead_lettered:
        logger.error(
            "events dead-lettered: the relay will not retry them",
            extra={"event_ids": sorted(result.dead_lettered), "reasons": sorted(set(result.dead_lettered.values()))},
        )
    if result.errors:
        metrics.add_metric(name="OutboxRelayErrors", unit="Count", value=len(result.errors))
        logger.error("outbox entries could not be relayed; moved forward", extra={"entries": result.errors})
    logger.info("outbox relayed", extra={"entries": result.entries, "published": result.published})
    return {
        "entries": result.entries,
        "published": result.published,
        "still_unpublished": result.still_unpublished,
        "dead_lettered": len(result.dead_lettered),
    }
