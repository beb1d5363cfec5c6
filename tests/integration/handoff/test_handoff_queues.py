"""Handoff's queue, through the local runtime: a poison record is quarantined once and its batch-mates become
conversations. (The online-to-store and message-request queues are outbound's: tests/integration/outbound.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.support.quarantine_runtime import canonical, run_batch, runtime

EVENTS = Path(__file__).resolve().parents[3] / "events"


def item(rt: LocalRuntime, pk: str, sk: str) -> dict[str, Any] | None:
    found = rt.client("dynamodb").get_item(
        TableName=rt.table_name("HandoffTable"), Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )
    return dict(found["Item"]) if "Item" in found else None


def test_a_poison_message_is_quarantined_once_and_the_next_messages_become_conversations() -> None:
    with runtime() as rt:
        # Given two WhatsApp messages and, between them, one whose sender id is a number
        first = canonical("Message Received", {"whatsapp": "905321110001"}, channel="whatsapp", text="merhaba")
        poison = {**canonical("Message Received", {"whatsapp": "905321110002"}, channel="whatsapp")}
        poison["identifiers"] = {"whatsapp": 905321110002}
        second = canonical("Message Received", {"whatsapp": "905321110003"}, channel="whatsapp", text="selam")

        # When they reach handoff's queue together
        events = [(CAPTURE_SOURCE, "Message Received", event) for event in (first, poison, second)]
        run = run_batch(rt, "HandoffEventsFunction", events)

        # Then the poison was handed over once and kept with the failing field
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.reason == "invalid detail.identifiers.whatsapp"
        # And the other two senders have a conversation
        assert item(rt, "CONTACT#whatsapp#905321110001", "CONV#whatsapp") is not None
        assert item(rt, "CONTACT#whatsapp#905321110003", "CONV#whatsapp") is not None


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
