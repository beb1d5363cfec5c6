"""What the handoff table's writes announce (handlers/stream_handoff.py): a new ticket handoff.created, a ticket
turning redeemed handoff.accepted; nothing else, nothing twice. (message.sent is the outbound table's.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from handoff.dal.ticket_store import ticket_item
from handoff.handlers.stream_handoff import announced
from handoff.logic.tickets import TicketState, new_ticket

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def ticket_images() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    ticket = new_ticket(
        profile_id="p-1", from_channel="whatsapp", to_channel="store", reason="size", now=T0, link_base_url=""
    )
    redeemed = ticket.model_copy(
        update={"state": TicketState.REDEEMED, "redeemed_by": "clerk-1", "redeemed_at": T0 + timedelta(hours=1)}
    )
    voided = ticket.model_copy(update={"state": TicketState.VOIDED})
    return ticket_item(ticket), ticket_item(redeemed), ticket_item(voided)


def test_a_ticket_announces_its_creation_and_its_redemption_once() -> None:
    opened, redeemed, voided = ticket_images()

    assert [e.detail_type for e in announced(opened, {})] == ["handoff.created"]
    assert [e.detail_type for e in announced(redeemed, opened)] == ["handoff.accepted"]
    assert announced(redeemed, redeemed) == []  # a later update of a redeemed ticket
    assert announced(voided, opened) == []
    assert announced(opened, {})[0].event_id == announced(opened, {})[0].event_id  # derived, so stable
