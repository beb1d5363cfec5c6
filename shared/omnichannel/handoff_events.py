"""What goes on the bus under source ``omnichannel.handoff``: the handoff function's ``handoff.created`` and
``handoff.accepted``, and the outbound function's ``message.requested``, ``message.sent`` and ``message.failed``
(which kept this source when outbound moved out of handoff: the public contract).

- ``handoff.created``: an agent (or the online-to-store flow) issued a handoff ticket with a short code.
- ``handoff.accepted``: the receiving side (phone agent, store clerk, chat agent) redeemed the code; once per
  ticket (codes are single use).
- ``message.requested``: an outbound message to a customer was decided (e.g. "the item is in stock at the
  store near you" with a reserve-in-store code); delivery is the outbound sender's job.
- ``message.sent``: a provider accepted the message (the end of a delivered message).
- ``message.failed``: the message ended without going out: ``failed`` (the provider refused it for good, or the
  attempts ran out) or ``cancelled`` (a last check before sending said no). Every outbound message ends with
  exactly one of ``message.sent`` and ``message.failed``; both carry the ``reason`` of the request
  (``journey:<id>`` for a journey's message) and no address.

Every detail carries a stable ``event_id`` (consumers are idempotent on it). Parsing ignores fields a later
version adds. Addresses (``to``) are personal data: they are on the bus only for the sender that needs them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HANDOFF_SOURCE = "omnichannel.handoff"
HANDOFF_EVENT_NAMESPACE = uuid.UUID("5e0f3c9a-7b21-4d6e-9a84-2c1d0b7f6e55")


class HandoffEventType(StrEnum):
    CREATED = "handoff.created"
    ACCEPTED = "handoff.accepted"
    MESSAGE_REQUESTED = "message.requested"
    MESSAGE_SENT = "message.sent"
    MESSAGE_FAILED = "message.failed"


class TicketPurpose(StrEnum):
    HANDOFF = "handoff"
    RESERVE_IN_STORE = "reserve_in_store"


class OutboundChannel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"


def handoff_event_id(*parts: str) -> str:
    """A stable id for a handoff event, from what caused it (same cause, same id)."""
    return str(uuid.uuid5(HANDOFF_EVENT_NAMESPACE, "\x1f".join(parts)))


class _HandoffEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id of this event; consumers are idempotent on it")
    occurred_at: datetime


class _TicketEvent(_HandoffEvent):
    ticket_id: str
    code: str = Field(description="The ticket's code, 8 Crockford base32 characters without the dash")
    profile_id: str
    from_channel: str
    to_channel: str
    reason: str
    purpose: TicketPurpose = TicketPurpose.HANDOFF


class HandoffCreated(_TicketEvent):
    """A ticket was issued; it is valid until ``expires_at``."""

    expires_at: datetime
    created_by: str | None = Field(default=None, description="The agent's subject, or the system flow")
    store_id: str | None = None


class HandoffAccepted(_TicketEvent):
    """The ticket was redeemed (once) by ``redeemed_by`` on ``channel``."""

    redeemed_by: str
    channel: str = Field(description="Where it was redeemed: store, phone, chat ...")
    store_id: str | None = None


class OutboundMessageRequested(_HandoffEvent):
    """Send ``template`` with ``variables`` to ``to`` on ``channel``; ``message_id`` makes the send idempotent."""

    message_id: str
    profile_id: str
    channel: OutboundChannel
    to: str = Field(description="E.164 phone (WhatsApp, SMS) or e-mail address")
    template: str
    variables: dict[str, str] = Field(default_factory=dict)
    ticket_code: str | None = None
    reason: str = Field(description="Why the message was requested, e.g. 'cart_abandoned_in_stock_nearby'")


class _MessageEnded(_HandoffEvent):
    """The end of an outbound message. No address: consumers (journeys, KPIs, audit) need the fact, not the
    contact."""

    message_id: str
    profile_id: str = Field(description="The profile the message was requested for (it may have been merged since)")
    channel: OutboundChannel = Field(description="The channel it went out on (or was to go out on)")
    template: str
    reason: str = Field(description="The request's reason: 'journey:<journey id>' for a journey's message")
    ticket_code: str | None = None
    attempts: int


class OutboundMessageSent(_MessageEnded):
    """``message.sent``: a provider accepted the message (``provider_id``) at ``occurred_at``."""

    provider_id: str


class MessageEndState(StrEnum):
    FAILED = "failed"  # the provider refused it for good, or every attempt failed
    CANCELLED = "cancelled"  # a check just before the send said no (a store offer whose cart was bought ...)


class OutboundMessageFailed(_MessageEnded):
    """``message.failed``: the message ended at ``occurred_at`` without going out."""

    state: MessageEndState
    error_code: str = Field(
        description=(
            "Short and without personal data: the provider's error code (e.g. 'MessageRejected', 'HTTP400', "
            "'HTTP500' after the last attempt) or the cancellation's reason (e.g. 'cart_bought')"
        ),
        max_length=64,
    )
