"""Outbound's two queues, through the local runtime: in each, a poison record is quarantined once and its
batch-mates are processed (online-to-store decisions, message requests)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from local_runtime.runtime import LocalRuntime
from omnichannel.handoff_events import HANDOFF_SOURCE
from omnichannel.journey_events import JOURNEYS_SOURCE
from tests.support.quarantine_runtime import run_batch, runtime

EVENTS = Path(__file__).resolve().parents[3] / "events"


def item(rt: LocalRuntime, pk: str, sk: str) -> dict[str, Any] | None:
    found = rt.client("dynamodb").get_item(
        TableName=rt.table_name("OutboundTable"), Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )
    return dict(found["Item"]) if "Item" in found else None


def abandoned(cart_id: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-23T12:00:00Z",
        "cart_id": cart_id,
        "profile_id": None,
        "anonymous_id": f"anon-{cart_id}",
        "episode": 1,
        "lines": [
            {
                "product_id": "P-1",
                "sku": "SKU-1",
                "name": "Tişört",
                "quantity": 1,
                "unit_price": "10",
                "currency": "TRY",
            }
        ],
        "value": "10",
        "currency": "TRY",
        "last_activity_at": "2026-11-23T10:00:00Z",
    }


def offer_request(cart: dict[str, Any]) -> dict[str, Any]:
    """The abandoned-cart journey's ``store_offer.requested`` for a cart (its detail plus the journey step)."""
    return {
        **cart,
        "event_id": str(uuid.uuid4()),
        "cart_event_id": cart["event_id"],
        "journey_id": "abandoned_cart_store_offer",
        "journey_version": 1,
        "run": 1,
        "step_id": "offer",
    }


def test_a_poison_abandoned_cart_is_quarantined_once_and_the_next_carts_are_decided() -> None:
    with runtime() as rt:
        # Given two abandoned carts and, between them, one whose value is not a number
        poison = {**abandoned("cart-q-2"), "value": "a lot"}
        events = [abandoned("cart-q-1"), poison, abandoned("cart-q-3")]

        # When they reach online-to-store's queue together
        asked = [(JOURNEYS_SOURCE, "store_offer.requested", offer_request(event)) for event in events]
        run = run_batch(rt, "OutboundOfferFunction", asked)

        # Then the poison was handed over once and kept with the failing field
        assert run.records_delivered.count(str(asked[1][2]["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.reason == "invalid detail.value"
        # And the other two episodes are decided (no profile to offer anything to: recorded as such), not the poison's
        for cart_id in ("cart-q-1", "cart-q-3"):
            decision = item(rt, f"OFFER#{cart_id}#1", "OFFER")
            assert decision is not None
            assert decision["outcome"]["S"] == "no_profile"
        assert item(rt, "OFFER#cart-q-2#1", "OFFER") is None


def requested(message_id: str, channel: str = "sms") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-23T12:00:00Z",
        "message_id": message_id,
        "profile_id": "prof-q",
        "channel": channel,
        "to": "+905321234567",
        "template": "reserve_in_store",
        "variables": {"store_name": "Moda", "product": "Tişört", "code": "QW4R-T8YP"},
        "reason": "test",
    }


def test_a_poison_message_request_is_quarantined_once_and_the_next_requests_are_sent() -> None:
    with runtime() as rt:
        # Given two SMS requests and, between them, one for a channel nobody sends on
        poison = requested("msg-q-2", channel="fax")
        events = [requested("msg-q-1"), poison, requested("msg-q-3")]

        # When they reach the delivery queue together
        run = run_batch(
            rt, "OutboundRequestsFunction", [(HANDOFF_SOURCE, "message.requested", event) for event in events]
        )

        # Then the poison was handed over once and kept with the failing field
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.reason == "invalid detail.channel"
        # And the two SMS were sent (through SNS), once each
        for message_id in ("msg-q-1", "msg-q-3"):
            outbox = item(rt, f"OUTBOX#{message_id}", "OUTBOX")
            assert outbox is not None
            assert outbox["state"]["S"] == "sent"
        assert item(rt, "OUTBOX#msg-q-2", "OUTBOX") is None


def journey_requested(message_id: str, text: str) -> dict[str, Any]:
    """A journey step's ``message.requested`` as ``events/journeys/message_requested.json`` has it, on SMS."""
    sample = json.loads((EVENTS / "journeys" / "message_requested.json").read_text(encoding="utf-8"))["detail"]
    return {
        **sample,
        "event_id": str(uuid.uuid4()),
        "message_id": message_id,
        "channel": "sms",
        "to": "+905321234568",
        "template": "first_purchase_follow_up",
        "text": text,
    }


def sms_sent() -> dict[str, Any]:
    from moto.sns.models import sns_backends

    return {
        message_id: sent
        for account in sns_backends.values()
        for backend in account.values()
        for message_id, sent in backend.sms_messages.items()
    }


def test_a_journeys_message_goes_out_as_the_journey_wrote_it_once_however_often_it_is_requested() -> None:
    with runtime() as rt:
        # Given a journey's SMS (its own template, rendered by the journey) next to one of handoff's own offers
        text = "Merhaba Ayşe, yeni kabanınız nasıl? Ücretsiz bir stil danışmanlığı için bu mesaja yanıt verin."
        request = journey_requested("msg-j-1", text)

        # When both reach the delivery queue, the journey's twice (the bus delivers at least once)
        events = [
            (JOURNEYS_SOURCE, "message.requested", request),
            (HANDOFF_SOURCE, "message.requested", requested("msg-h-1")),
            (JOURNEYS_SOURCE, "message.requested", {**request, "event_id": str(uuid.uuid4())}),
        ]
        run = run_batch(rt, "OutboundRequestsFunction", events)

        # Then nothing was quarantined, both are sent, and the journey's text went out once, word for word
        assert run.quarantined == []
        for message_id in ("msg-j-1", "msg-h-1"):
            outbox = item(rt, f"OUTBOX#{message_id}", "OUTBOX")
            assert outbox is not None
            assert outbox["state"]["S"] == "sent"
        to_customer = [sent for sent in sms_sent().values() if sent[0] == "+905321234568"]
        assert [sent[1] for sent in to_customer] == [text]
        # And handoff's own offer still renders its template
        assert any("QW4R-T8YP" in sent[1] for sent in sms_sent().values() if sent[0] == "+905321234567")
        # And message.sent names the journey, so the journey's funnel can count what went out
        sent_events = [e for e in rt.bus_log() if e["detail-type"] == "message.sent"]
        assert {e["detail"]["message_id"]: e["detail"]["reason"] for e in sent_events}["msg-j-1"] == (
            "journey:post_visit_nps"
        )
