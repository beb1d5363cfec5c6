"""What the delivery entry points share: a ``message.requested`` (handoff's own, or a journey step's with the
text the journey rendered) taken into the outbox, the attempts counted, and the end of each message as the
outbound table's stream announces it: ``message.sent`` when an outbox item turns sent, ``message.failed`` when it
turns failed or cancelled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from omnichannel.canonical_event import utc_iso
from omnichannel.event_bus import BusEvent
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffEventType,
    MessageEndState,
    OutboundMessageFailed,
    OutboundMessageRequested,
    OutboundMessageSent,
    handoff_event_id,
)
from omnichannel.journey_events import JourneyMessageRequested
from outbound import wiring
from outbound.delivery.dispatcher import Attempt
from outbound.delivery.message import DeliveryState, OutboundMessage, Prerendered
from outbound.observability import logger, metrics

KEEP_DAYS = 90
_A_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def requested_message(request: OutboundMessageRequested) -> str:
    """The requested message in the outbox (known already: nothing changes); its id. A journey step's request
    (``JourneyMessageRequested``) carries the text the journey rendered: it is sent as it is."""
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
    if isinstance(request, JourneyMessageRequested):
        message = replace(
            message,
            reason=request.reason or f"journey:{request.journey_id}",
            prerendered=Prerendered(
                text=request.text or "", subject=request.subject or "", parameters=tuple(request.parameters)
            ),
        )
    # The online-to-store flow queues its messages itself, maybe for later: then this changes nothing.
    wiring.get_outbox().request(message, int(now.timestamp()) + KEEP_DAYS * 86400)
    return request.message_id


def sent_event(message: OutboundMessage) -> BusEvent:
    """``message.sent`` of a message the outbox has as sent (the outbound table's stream announces it)."""
    sent = OutboundMessageSent(
        event_id=handoff_event_id(HandoffEventType.MESSAGE_SENT.value, message.message_id),
        occurred_at=datetime.fromisoformat(message.sent_at or message.requested_at),
        message_id=message.message_id,
        profile_id=message.profile_id,
        channel=message.channel,
        template=message.template,
        provider_id=message.provider_id or "",
        reason=message.reason,
        ticket_code=message.ticket_code,
        attempts=message.attempts,
    )
    return BusEvent(
        event_id=sent.event_id,
        source=HANDOFF_SOURCE,
        detail_type=HandoffEventType.MESSAGE_SENT.value,
        detail=sent.model_dump(mode="json"),
    )


def short_code(text: str | None) -> str:
    """An error code fit for the bus: letters, digits and ``_.:-`` only, at most 64; anything else (a sentence, an
    address) is ``unknown``: a provider's words stay in the outbox's ``last_error``."""
    return text if text is not None and _A_CODE.fullmatch(text) else "unknown"


def failed_event(message: OutboundMessage) -> BusEvent:
    """``message.failed`` of a message the outbox has as failed or cancelled (the outbound table's stream announces
    it). Its id derives from the message alone: a message ends once, and a re-published record is the same event."""
    state = MessageEndState.CANCELLED if message.state is DeliveryState.CANCELLED else MessageEndState.FAILED
    ended_at = message.cancelled_at if state is MessageEndState.CANCELLED else message.failed_at
    failed = OutboundMessageFailed(
        event_id=handoff_event_id(HandoffEventType.MESSAGE_FAILED.value, message.message_id),
        occurred_at=datetime.fromisoformat(ended_at or message.next_at or message.requested_at),
        message_id=message.message_id,
        profile_id=message.profile_id,
        channel=message.channel,
        template=message.template,
        reason=message.reason,
        ticket_code=message.ticket_code,
        attempts=message.attempts,
        state=state,
        error_code=short_code(message.error_code),
    )
    return BusEvent(
        event_id=failed.event_id,
        source=HANDOFF_SOURCE,
        detail_type=HandoffEventType.MESSAGE_FAILED.value,
        detail=failed.model_dump(mode="json"),
    )


def count_attempts(attempts: Sequence[Attempt]) -> None:
    """Metrics and warnings of delivery attempts; ``message.sent`` is announced by the outbox item itself."""
    for attempt in attempts:
        metrics.add_metric(name=f"Outbound_{attempt.outcome}", unit="Count", value=1)
        if attempt.outcome == "failed":
            logger.warning("message failed", extra={"message_id": attempt.message_id, "error": attempt.error})
