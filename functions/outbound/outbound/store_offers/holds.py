"""When a store offer's stock hold ends because the customer came for it (pure: no boto3).

Handoff owns redemption; its ``handoff.accepted`` (the ticket turned redeemed, announced by its table's stream)
reaches outbound, which ends the holds the offer wrote in the store it offered (the copy of the ticket names it:
a clerk may redeem the code in another store). A ticket that is no store offer's releases nothing; a repeat
releases nothing more. Holds also end on their own when the ticket runs out (``until``) and when the offer is
cancelled before it goes out (``offer_recheck``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from omnichannel.handoff_events import HandoffAccepted, TicketPurpose
from outbound.store_offers.offer_ticket import OfferTicket


class OfferTickets(Protocol):
    def get(self, code: str, at: datetime | None = None) -> OfferTicket | None: ...


class Holds(Protocol):
    def release(self, store_id: str, ticket_code: str) -> int: ...


def release_redeemed(accepted: HandoffAccepted, tickets: OfferTickets, holds: Holds) -> int | None:
    """The holds ended for a redeemed ticket (how many), or None when it is no store offer's ticket."""
    if accepted.purpose is not TicketPurpose.RESERVE_IN_STORE:
        return None
    ticket = tickets.get(accepted.code)
    store_id = ticket.store_id if ticket is not None else accepted.store_id
    if not store_id:
        return None
    return holds.release(store_id, accepted.code)
