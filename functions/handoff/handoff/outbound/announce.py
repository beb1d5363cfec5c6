"""What both delivery entry points share: a ``message.requested`` taken into the outbox, and ``message.sent``
announced for the messages an attempt sent (the sends are recorded either way; only the announcement is best
effort, logged when the bus refuses it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from handoff import outbound_wiring, wiring
from handoff.observability import logger, metrics
from handoff.outbound.dispatcher import Attempt
from handoff.outbound.events import OutboundMessageSent
from handoff.outbound.message import OutboundMessage
from omnichannel.canonical_event import utc_iso
from omnichannel.event_bus import BusEvent
from omnichannel.handoff_events import HANDOFF_SOURCE, HandoffEventType, OutboundMessageRequested, handoff_event_id

KEEP_DAYS = 90


def requested_message(request: OutboundMessageRequested) -> str:
    """The requested message in the outbox (known already: nothing changes); its id."""
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
    # The online-to-store flow queues its messages itself, maybe for later: then this changes nothing.
    outbound_wiring.get_outbox().request(message, int(now.timestamp()) + KEEP_DAYS * 86400)
    return request.message_id


def announce_sent(attempts: Sequence[Attempt]) -> None:
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
