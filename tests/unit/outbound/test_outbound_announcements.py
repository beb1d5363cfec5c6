"""What the outbound table's writes announce (handlers/stream_outbound.py): an outbox message turning sent
message.sent, one turning failed or cancelled message.failed; a new offer ticket ticket.requested (handoff stores
it under the offer's code) and one turning voided ticket.void_requested; nothing else, nothing twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnichannel.handoff_events import HANDOFF_SOURCE, MessageEndState, OutboundChannel, OutboundMessageFailed
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


def journey_message_item() -> dict[str, Any]:
    message = OutboundMessage(
        message_id="msg-9", profile_id="p-9", channel=OutboundChannel.WHATSAPP, to="+905321234567",
        template="post_visit_nps", variables={}, reason="journey:post_visit_nps",
        requested_at="2026-06-10T09:00:00.000Z", due_at="2026-06-10T09:00:00.000Z",
    )  # fmt: skip
    return outbox_item(message, 0)


def _claimed(item: dict[str, Any], attempts: int) -> dict[str, Any]:
    return {**item, "state": {"S": "sending"}, "attempts": {"N": str(attempts)}}


@pytest.mark.parametrize(
    ("ended", "state", "code"),
    [
        (
            {"state": {"S": "failed"}, "error_code": {"S": "HTTP400"}, "failed_at": {"S": "2026-06-10T09:00:02.000Z"}},
            MessageEndState.FAILED,
            "HTTP400",
        ),
        (
            {
                "state": {"S": "cancelled"},
                "cancel_reason": {"S": "cart_bought"},
                "last_error": {"S": "cart_bought"},
                "cancelled_at": {"S": "2026-06-10T09:00:02.000Z"},
            },
            MessageEndState.CANCELLED,
            "cart_bought",
        ),
    ],
)
def test_an_outbox_message_ending_unsent_announces_message_failed_once(
    ended: dict[str, Any], state: MessageEndState, code: str
) -> None:
    # Given a journey's message claimed for its second attempt, then ended unsent
    requested = journey_message_item()
    sending = _claimed(requested, 2)
    finished = {**sending, **ended}

    # When the stream sees each transition (the last one twice: a re-published record)
    assert announced(requested, {}) == []
    assert announced(sending, requested) == []
    [event] = announced(finished, sending)
    [again] = announced(finished, sending)

    # Then one message.failed, under the handoff source, with the state, a short code and the request's ids
    assert (event.source, event.detail_type) == (HANDOFF_SOURCE, "message.failed")
    failed = OutboundMessageFailed.model_validate(event.detail)
    assert (failed.state, failed.error_code, failed.attempts) == (state, code, 2)
    assert (failed.message_id, failed.profile_id, failed.reason, failed.channel) == (
        "msg-9",
        "p-9",
        "journey:post_visit_nps",
        OutboundChannel.WHATSAPP,
    )
    assert failed.occurred_at == datetime(2026, 6, 10, 9, 0, 2, tzinfo=UTC)
    assert "to" not in event.detail
    assert "+905321234567" not in str(event.detail)
    assert again.event_id == event.event_id == failed.event_id
    # a later write to the ended item (TTL bookkeeping, erasure's delete) announces nothing more
    assert announced(finished, finished) == []
    assert announced({}, finished) == []


def test_a_failure_code_on_the_bus_is_short_and_never_the_providers_words() -> None:
    # Given a message that failed with an error code a provider might word like a sentence naming the address
    item = {
        **_claimed(journey_message_item(), 1),
        "state": {"S": "failed"},
        "error_code": {"S": "Email address is not verified: ayse@example.com " + "x" * 80},
        "last_error": {"S": "ses: MessageRejected ayse@example.com"},
    }

    [event] = announced(item, _claimed(journey_message_item(), 1))

    assert event.detail["error_code"] == "unknown"
    assert "ayse" not in str(event.detail)


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
