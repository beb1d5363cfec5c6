"""What the outbound function asks of handoff on the bus (source ``omnichannel.outbound``): internal requests
between the two functions, so each writes only its own table.

- ``ticket.requested``: a store offer was decided; handoff stores its reserve-in-store ticket under the ``code``
  outbound drew (``omnichannel.ticket_codes``), so the offer's message could carry the code before the ticket
  existed. Idempotent on ``ticket_id``: a redelivered request stores nothing twice.
- ``ticket.void_requested``: the offer was cancelled before its message went out (the cart was bought or
  changed, the store sold out); handoff voids the ticket if it is still open.

Both are announced by the outbound table's stream (the offer's ticket item, written in the offer's own
transaction), so a decided offer always reaches handoff. Handoff's ``handoff.accepted`` (a redeemed ticket)
comes back the other way: outbound ends the stock the ticket held.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.handoff_events import TicketPurpose

OUTBOUND_SOURCE = "omnichannel.outbound"


class OutboundEventType(StrEnum):
    TICKET_REQUESTED = "ticket.requested"
    TICKET_VOID_REQUESTED = "ticket.void_requested"


class _OutboundEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(description="Stable id of this event; consumers are idempotent on it")
    occurred_at: datetime


class TicketRequested(_OutboundEvent):
    """Store this ticket (under this code) for the customer; the offer's message carries the code."""

    ticket_id: str
    code: str = Field(description="The ticket's code, 8 Crockford base32 characters without the dash")
    profile_id: str
    from_channel: str
    to_channel: str
    reason: str
    note: str | None = None
    created_by: str | None = None
    created_at: datetime
    expires_at: datetime
    purpose: TicketPurpose = TicketPurpose.RESERVE_IN_STORE
    store_id: str | None = None
    cart_snapshot: dict[str, Any] | None = None


class TicketVoidRequested(_OutboundEvent):
    """The offer behind this ticket was cancelled before it was sent: void the ticket if it is still open."""

    ticket_id: str
    code: str
    profile_id: str
    reason: str = Field(description="Why the offer was cancelled: cart_bought, cart_changed, no_stock")
