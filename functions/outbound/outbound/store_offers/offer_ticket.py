"""The reserve-in-store ticket of a store offer, as the outbound function keeps it (pure: no boto3).

The ticket the customer redeems lives in the handoff table (handoff owns tickets, their codes and redemption). The
offer cannot wait for it: its message carries the code. So outbound draws the code itself
(``omnichannel.ticket_codes``), keeps this copy in the offer's own transaction (with the decision, the cap, the
outbox message and the stock holds), and its table's stream asks handoff for the ticket (``ticket.requested``,
idempotent on ``ticket_id``). When the offer is cancelled before it goes out, the copy turns ``voided`` and the
stream asks handoff to void the ticket (``ticket.void_requested``). The copy is what the recheck before send
reads (the offered store and cart) and what a redemption (``handoff.accepted``) is matched to (the store whose
stock it held).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from omnichannel.event_bus import BusEvent
from omnichannel.handoff_events import TicketPurpose, handoff_event_id
from omnichannel.outbound_events import (
    OUTBOUND_SOURCE,
    OutboundEventType,
    TicketRequested,
    TicketVoidRequested,
)
from omnichannel.ticket_codes import new_code

CREATED_BY = "online-to-store"


class OfferTicketState(StrEnum):
    OPEN = "open"
    VOIDED = "voided"


@dataclass(frozen=True)
class OfferTicket:
    profile_id: str
    from_channel: str
    reason: str
    created_at: datetime
    expires_at: datetime
    store_id: str
    cart_snapshot: dict[str, Any]
    note: str | None = None
    ticket_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    code: str = field(default_factory=new_code)
    to_channel: str = "store"
    created_by: str = CREATED_BY
    purpose: TicketPurpose = TicketPurpose.RESERVE_IN_STORE
    state: OfferTicketState = OfferTicketState.OPEN
    void_reason: str | None = None


def requested_event(ticket: OfferTicket) -> BusEvent:
    """``ticket.requested``: handoff stores the ticket under the offer's code."""
    detail = TicketRequested(
        event_id=handoff_event_id(OutboundEventType.TICKET_REQUESTED.value, ticket.ticket_id),
        occurred_at=ticket.created_at,
        ticket_id=ticket.ticket_id,
        code=ticket.code,
        profile_id=ticket.profile_id,
        from_channel=ticket.from_channel,
        to_channel=ticket.to_channel,
        reason=ticket.reason,
        note=ticket.note,
        created_by=ticket.created_by,
        created_at=ticket.created_at,
        expires_at=ticket.expires_at,
        purpose=ticket.purpose,
        store_id=ticket.store_id,
        cart_snapshot=ticket.cart_snapshot,
    )
    return BusEvent(
        detail.event_id, OUTBOUND_SOURCE, OutboundEventType.TICKET_REQUESTED.value, detail.model_dump(mode="json")
    )


def void_requested_event(ticket: OfferTicket, voided_at: datetime) -> BusEvent:
    """``ticket.void_requested``: the offer was cancelled before it went out; handoff voids the open ticket."""
    detail = TicketVoidRequested(
        event_id=handoff_event_id(OutboundEventType.TICKET_VOID_REQUESTED.value, ticket.ticket_id),
        occurred_at=voided_at,
        ticket_id=ticket.ticket_id,
        code=ticket.code,
        profile_id=ticket.profile_id,
        reason=ticket.void_reason or "cancelled",
    )
    return BusEvent(
        detail.event_id,
        OUTBOUND_SOURCE,
        OutboundEventType.TICKET_VOID_REQUESTED.value,
        detail.model_dump(mode="json"),
    )
