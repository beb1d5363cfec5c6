"""What the outbound table's writes announce (handlers/stream_outbound.py): an outbox message turning sent
message.sent; a new offer ticket ticket.requested (handoff stores it under the offer's code) and one turning voided
ticket.void_requested; nothing else, nothing twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from omnichannel.handoff_events import OutboundChannel
from omnichannel.outbound_events import OUTBOUND_SOURCE, TicketRequested, TicketVoidRequested
from outbound.dal.offer_ticket_store import offer_ticket_item
from outbound.dal.outbox_store import outbox_item
from outbound.delivery.message import OutboundMessage
from outbound.handlers.stream_outbound import announced
from outbound.store_offers.offer_ticket import OfferTicket, OfferTicketState

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def test_an_outbox_message_announces_message_sent_when_it_turns_sent() -> None:
    message = OutboundMessage(
        message_id="msg-1", profile_id="p-1", channel=OutboundChannel.SMS, to="+905321234567", template="t",
        variables={}, reason="test", ticket_code=None, requested_at="2026-06-10T09:00:00.000Z",
        due_at="2026-06-10T09:00:00.000Z",
    )  # fmt: skip
    requested = outbox_item(message, 0)
    sent = {
        **requested,
        "state": {"S": "sent"},
        "provider_id": {"S": "sns-1"},
        "sent_at": {"S": "2026-06-10T09:00:01.000Z"},
    }

    assert announced(requested, {}) == []
    [event] = announced(sent, requested)
    assert (event.detail_type, event.detail["provider_id"], event.detail["message_id"]) == (
        "message.sent",
        "sns-1",
        "msg-1",
    )
    assert announced(sent, sent) == []


def offer_ticket() -> OfferTicket:
    return OfferTicket(
        profile_id="p-1",
        from_channel="web",
        reason="cart_abandoned_in_stock_nearby",
        created_at=T0,
        expires_at=T0 + timedelta(hours=48),
        store_id="IST-MODA",
        cart_snapshot={"cart_id": "c-1", "episode": 1, "lines": [{"sku": "COAT", "name": "Coat", "quantity": 1}]},
        note="cart c-1, episode 1",
    )


def test_a_new_offer_ticket_asks_handoff_for_the_ticket_under_its_code_once() -> None:
    # Given an offer ticket as the offer's transaction writes it
    ticket = offer_ticket()
    item = offer_ticket_item(ticket)

    # When the stream announces its insertion (twice: a retried batch)
    [event] = announced(item, {})
    [again] = announced(item, {})

    # Then handoff is asked for that ticket, under that code, for that store and cart, with a stable id
    assert (event.source, event.detail_type) == (OUTBOUND_SOURCE, "ticket.requested")
    request = TicketRequested.model_validate(event.detail)
    assert (request.ticket_id, request.code, request.store_id, request.profile_id) == (
        ticket.ticket_id,
        ticket.code,
        "IST-MODA",
        "p-1",
    )
    assert request.cart_snapshot == ticket.cart_snapshot
    assert (request.purpose.value, request.to_channel, request.expires_at) == (
        "reserve_in_store",
        "store",
        ticket.expires_at,
    )
    assert again.event_id == event.event_id


def test_an_offer_ticket_turning_voided_asks_handoff_to_void_it_once() -> None:
    # Given an open offer ticket, and the same ticket voided because the cart was bought
    ticket = offer_ticket()
    opened = offer_ticket_item(ticket)
    voided = {
        **offer_ticket_item(replace(ticket, state=OfferTicketState.VOIDED)),
        "void_reason": {"S": "cart_bought"},
        "voided_at": {"S": "2026-06-10T10:00:00.000Z"},
    }

    # When the stream sees the change, and later updates of the voided ticket
    [event] = announced(voided, opened)

    # Then handoff is asked to void that ticket, with the reason; nothing more later
    assert (event.source, event.detail_type) == (OUTBOUND_SOURCE, "ticket.void_requested")
    request = TicketVoidRequested.model_validate(event.detail)
    assert (request.code, request.ticket_id, request.reason) == (ticket.code, ticket.ticket_id, "cart_bought")
    assert announced(voided, voided) == []
    assert announced(opened, opened) == []
