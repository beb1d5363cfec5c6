"""events/outbound/*.json are what the outbound function publishes (message.sent and message.failed under the
handoff source, its
ticket requests to handoff under its own), and the samples the online-to-store functions consume parse as their
models; handoff turns the ticket request into the ticket the message's code redeems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handoff.logic.tickets import ticket_from_request
from omnichannel.cart_events import CartAbandoned
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffEventType,
    OutboundMessageFailed,
    OutboundMessageRequested,
    OutboundMessageSent,
    TicketPurpose,
    handoff_event_id,
)
from omnichannel.outbound_events import OUTBOUND_SOURCE, TicketRequested, TicketVoidRequested
from outbound.delivery.templates import render

EVENTS = Path(__file__).resolve().parents[3] / "events"


def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return loaded


def test_message_sent_sample_is_its_model() -> None:
    envelope = _load("outbound/message_sent.json")
    assert (envelope["source"], envelope["detail-type"]) == (HANDOFF_SOURCE, "message.sent")
    model = OutboundMessageSent.model_validate(envelope["detail"])
    assert model.model_dump(mode="json") == envelope["detail"]
    assert "to" not in envelope["detail"]  # no address on the bus once sent


def test_message_failed_sample_is_its_model_and_ends_the_journeys_sample_request() -> None:
    envelope = _load("outbound/message_failed.json")
    assert (envelope["source"], envelope["detail-type"]) == (HANDOFF_SOURCE, HandoffEventType.MESSAGE_FAILED.value)
    model = OutboundMessageFailed.model_validate(envelope["detail"])
    assert model.model_dump(mode="json") == envelope["detail"]
    assert "to" not in envelope["detail"]
    # It is the end of the journeys' sample request: same message, profile and reason, its id from the message
    requested = _load("journeys/message_requested.json")["detail"]
    assert (model.message_id, model.profile_id, model.reason) == (
        requested["message_id"],
        requested["profile_id"],
        requested["reason"],
    )
    assert model.event_id == handoff_event_id("message.failed", model.message_id)


def test_the_consumed_samples_parse() -> None:
    abandoned = CartAbandoned.model_validate(_load("carts/cart_abandoned.json")["detail"])
    assert [line.sku for line in abandoned.lines] == ["TSHIRT-RED-M"]
    requested = OutboundMessageRequested.model_validate(_load("handoff/message_requested.json")["detail"])
    # The sample's template is one the delivery function can render, with its code in the text
    rendered = render(requested.template, dict(requested.variables))
    assert "QW4R-T8YP" in rendered.text
    assert "Kadıköy" in rendered.parameters


def test_the_ticket_requests_are_their_models_and_handoff_stores_the_ticket_they_describe() -> None:
    requested = _load("outbound/ticket_requested.json")
    voided = _load("outbound/ticket_void_requested.json")
    assert (requested["source"], requested["detail-type"]) == (OUTBOUND_SOURCE, "ticket.requested")
    assert (voided["source"], voided["detail-type"]) == (OUTBOUND_SOURCE, "ticket.void_requested")
    request = TicketRequested.model_validate(requested["detail"])
    void = TicketVoidRequested.model_validate(voided["detail"])
    assert request.model_dump(mode="json") == requested["detail"]
    assert void.model_dump(mode="json") == voided["detail"]
    # The ticket handoff stores: the same id, code, store and cart, a reserve-in-store ticket read by a clerk
    ticket = ticket_from_request(request)
    assert (ticket.ticket_id, ticket.code, ticket.store_id) == (request.ticket_id, "QW4RT8YP", "ist-kadikoy-01")
    assert (ticket.purpose, ticket.to_channel, ticket.deep_link) == (TicketPurpose.RESERVE_IN_STORE, "store", None)
    assert ticket.cart_snapshot == request.cart_snapshot
    assert (void.code, void.ticket_id) == (request.code, request.ticket_id)
