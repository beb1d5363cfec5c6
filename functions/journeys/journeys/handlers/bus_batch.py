"""Bus entry point: a batch of EventBridge events (capture's, ``lifecycle.changed``, ``cart.abandoned``, the
profiles') moves the customers' journeys.

``process(envelopes)`` is the whole of it and takes a list, so an SQS batch shell can call it as it is (its
answer names the events to deliver again). Today an ``EventBridgeRule`` invokes ``lambda_handler`` with one
event: a failure that should be retried (the customer's profile does not exist yet) raises, so Lambda's
asynchronous retries and the rule's failure queue take over. Redelivery is harmless: each event is applied once
per customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys import wiring
from journeys.logic.service import BatchResult
from journeys.observability import logger, metrics, tracer


class RetryLater(RuntimeError):
    """Some events of the batch should be delivered again."""


def process(envelopes: Sequence[dict[str, Any]]) -> BatchResult:
    result = wiring.get_service().handle(envelopes)
    for envelope_id, outcome in result.outcomes.items():
        metrics.add_metric(name=f"JourneyEvents_{outcome.split(':')[0]}", unit="Count", value=1)
        if outcome.startswith("dropped"):
            logger.warning("event dropped", extra={"envelope_id": envelope_id, "reason": outcome})
    return result


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any] | list[dict[str, Any]], context: LambdaContext) -> dict[str, Any]:
    envelopes = event if isinstance(event, list) else [event]
    result = process(envelopes)
    if result.failed:
        raise RetryLater(f"{len(result.failed)} event(s) to deliver again: {result.failed}")
    return {"outcomes": result.outcomes}
