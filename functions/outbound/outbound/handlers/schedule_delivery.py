"""Scheduled entry point of outbound delivery (every minute): sends what has come due, from the sparse ``by_due``
index: messages deferred past quiet hours, retries after a transient failure, and messages whose sender died
mid-send. A sent message is announced with ``message.sent`` by its outbox item (the outbound table's stream). A
failed send does not fail the invocation: the outbox item keeps the retry schedule and the last error, and ends
``failed`` once the attempts are used up."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound import wiring
from outbound.delivery.announce import count_attempts
from outbound.observability import logger, metrics, tracer
from outbound.settings import get_outbound_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    attempts = wiring.get_dispatcher().deliver_due(get_outbound_settings().delivery_batch)
    count_attempts(attempts)
    return {"attempts": [{"message_id": a.message_id, "outcome": a.outcome} for a in attempts]}
