"""Entry point of outbound delivery: sends a requested message at once (``message.requested`` on the bus), and
every minute (an EventBridge schedule) sends what has come due: messages deferred past quiet hours, retries
after a transient failure, and messages whose sender died mid-send.

Sent messages are announced with ``message.sent``. A failed send does not fail the invocation: the outbox item
keeps the retry schedule and the last error, and ends ``failed`` once the attempts are used up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from handoff import outbound_wiring, wiring
from handoff.observability import logger, metrics, tracer
from handoff.outbound.dispatcher import Attempt
from handoff.outbound.events import OutboundMessageSent
from handoff.outbound.message import OutboundMessage
from handoff.outbound_settings import get_outbound_settings
from omnichannel.canonical_event import utc_iso
from omnichannel.event_bus import BusEvent
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffEventType,
    OutboundMessageRequested,
    handoff_event_id,
)

KEEP_DAYS = 90


def _requested(detail: dict[str, Any]) -> Attempt:
    request = OutboundMessageRequested.model_validate(detail)
    now = wiring.now()
    message = OutboundMessage(
        message_id=request.message_id,
        profile_id=request.profile_id,
        channel=request.channel,
        to=request.to,
        template=request.template,
        variables=dict(request.variables),
        reason=request.reason,
        ticket_code=request.ticket_code,
        requested_at=utc_iso(request.occurred_at),
        due_at=utc_iso(now),
    )
    # Known already (the online-to-store flow queues its messages itself, maybe for later): nothing changes.
    outbound_wiring.get_outbox().request(message, int(now.timestamp()) + KEEP_DAYS * 86400)
    return outbound_wiring.get_dispatcher().deliver(request.message_id)


def _announce(attempts: list[Attempt]) -> None:
    events = []
    for attempt in attempts:
        metrics.add_metric(name=f"Outbound_{attempt.outcome}", unit="Count", value=1)
        if attempt.outcome == "failed":
            logger.warning("message failed", extra={"message_id": attempt.message_id, "error": attempt.error})
        if attempt.outcome != "sent" or attempt.message is None or attempt.provider_id is None:
            continue
        message = attempt.message
        sent = OutboundMessageSent(
            event_id=handoff_event_id(HandoffEventType.MESSAGE_SENT.value, message.message_id),
            occurred_at=datetime.fromisoformat(utc_iso(wiring.now())),
            message_id=message.message_id,
            profile_id=message.profile_id,
            channel=message.channel,
            template=message.template,
            provider_id=attempt.provider_id,
            reason=message.reason,
            ticket_code=message.ticket_code,
            attempts=message.attempts,
        )
        events.append(
            BusEvent(
                event_id=sent.event_id,
                source=HANDOFF_SOURCE,
                detail_type=HandoffEventType.MESSAGE_SENT.value,
                detail=sent.model_dump(mode="json"),
            )
        )
    if events:
        result = wiring.get_publisher().publish(events)
        if result.failed:  # the sends are recorded; only the announcement is missing
            logger.warning("message.sent not published", extra={"failed": len(result.failed)})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = event.get("source")
    detail_type = str(event.get("detail-type") or "")
    if source == HANDOFF_SOURCE and detail_type == HandoffEventType.MESSAGE_REQUESTED:
        try:
            attempts = [_requested(event.get("detail") or {})]
        except ValidationError as error:
            metrics.add_metric(name="OutboundRequestsDropped", unit="Count", value=1)
            logger.warning("request dropped", extra={"reason": type(error).__name__})
            return {"outcome": "dropped"}
    else:  # the schedule
        attempts = outbound_wiring.get_dispatcher().deliver_due(get_outbound_settings().delivery_batch)
    _announce(attempts)
    return {"attempts": [{"message_id": a.message_id, "outcome": a.outcome} for a in attempts]}
