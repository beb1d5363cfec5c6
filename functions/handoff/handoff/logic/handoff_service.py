"""Explicit handoff: issue a ticket, redeem it once, announce both on the bus.

The ticket is the record, and its announcement: the handoff table's stream carries every new ticket and every
redemption to the stream publisher (``handlers/stream_handoff.py``), which derives ``handoff.created`` and
``handoff.accepted`` from the ticket item with ids derived from the ticket (``omnichannel.stream_outbox``). A
stored ticket is an announced ticket; a bus that refuses makes the stream retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from handoff.logic.tickets import Ticket, new_ticket
from omnichannel.event_bus import BusEvent
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffAccepted,
    HandoffCreated,
    HandoffEventType,
    handoff_event_id,
)


class Tickets(Protocol):
    def create(self, ticket: Ticket) -> Ticket: ...
    def get(self, code: str, at: datetime | None = None) -> Ticket | None: ...
    def redeem(
        self, code: str, by: str, at: datetime, *, channel: str | None = None, store_id: str | None = None
    ) -> Ticket: ...


def created_event(ticket: Ticket) -> BusEvent:
    detail = HandoffCreated(
        event_id=handoff_event_id(HandoffEventType.CREATED, ticket.ticket_id),
        occurred_at=ticket.created_at,
        ticket_id=ticket.ticket_id,
        code=ticket.code,
        profile_id=ticket.profile_id,
        from_channel=ticket.from_channel,
        to_channel=ticket.to_channel,
        reason=ticket.reason,
        purpose=ticket.purpose,
        expires_at=ticket.expires_at,
        created_by=ticket.created_by,
        store_id=ticket.store_id,
    )
    return BusEvent(detail.event_id, HANDOFF_SOURCE, HandoffEventType.CREATED, detail.model_dump(mode="json"))


def accepted_event(ticket: Ticket) -> BusEvent:
    if ticket.redeemed_by is None or ticket.redeemed_at is None:
        raise ValueError("only a redeemed ticket is accepted")
    detail = HandoffAccepted(
        event_id=handoff_event_id(HandoffEventType.ACCEPTED, ticket.ticket_id),
        occurred_at=ticket.redeemed_at,
        ticket_id=ticket.ticket_id,
        code=ticket.code,
        profile_id=ticket.profile_id,
        from_channel=ticket.from_channel,
        to_channel=ticket.to_channel,
        reason=ticket.reason,
        purpose=ticket.purpose,
        redeemed_by=ticket.redeemed_by,
        channel=ticket.redeemed_channel or ticket.to_channel,
        store_id=ticket.redeemed_store_id or ticket.store_id,
    )
    return BusEvent(detail.event_id, HANDOFF_SOURCE, HandoffEventType.ACCEPTED, detail.model_dump(mode="json"))


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    announced: bool


@dataclass
class HandoffService:
    tickets: Tickets
    clock: Callable[[], datetime]

    def create(
        self,
        *,
        profile_id: str,
        from_channel: str,
        to_channel: str,
        reason: str,
        note: str | None,
        created_by: str,
        ttl: timedelta,
        link_base_url: str,
    ) -> Issued:
        ticket = self.tickets.create(
            new_ticket(
                profile_id=profile_id,
                from_channel=from_channel,
                to_channel=to_channel,
                reason=reason,
                note=note,
                created_by=created_by,
                now=self.clock(),
                ttl=ttl,
                link_base_url=link_base_url,
            )
        )
        return Issued(ticket, announced=True)  # by the table's stream

    def redeem(self, code: str, *, by: str, channel: str, store_id: str | None) -> Issued:
        """Raises ``TicketNotFound`` / ``TicketExpired`` / ``TicketAlreadyUsed``."""
        ticket = self.tickets.redeem(code, by, self.clock(), channel=channel, store_id=store_id)
        # The stock a reserve-in-store ticket held ends when outbound reads handoff.accepted (the table's stream).
        return Issued(ticket, announced=True)  # by the table's stream
