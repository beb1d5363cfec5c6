"""The ``store_offer`` step on in-memory stores: an abandoned cart (the trigger) is asked of handoff as it was
left, once per cart episode however often it is delivered; a held-out customer gets no offer, and both groups'
orders are counted, so the offer's lift is measured; a ``store_offer`` step needs the cart trigger."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from journeys.logic.holdout import held_out
from journeys.models.definition import JourneyDefinition
from omnichannel.canonical_event import utc_iso
from omnichannel.cart_events import CARTS_SOURCE
from tests.support.journey_memory import MemoryJourneys, envelope

LINES = [
    {"product_id": "P-COAT", "sku": "COAT-M", "name": "Yün kaban", "quantity": 1, "unit_price": "2499.90",
     "currency": "TRY"},
    {"product_id": "P-SCARF", "sku": "SCARF", "name": "Atkı", "quantity": 2, "unit_price": "199.00",
     "currency": "TRY"},
]  # fmt: skip


def offer_journey(holdout: float = 0.0) -> JourneyDefinition:
    return JourneyDefinition.model_validate(
        {
            "id": "cart_offer",
            "version": 1,
            "name": "Cart offer",
            "trigger": {"cart_abandoned": {}},
            "entry": {"reentry": "cooldown", "cooldown": "30m", "holdout": holdout},
            "goal": {"event": "Order Completed", "within": "7d"},
            "steps": [{"id": "offer", "type": "store_offer"}],
        }
    )


def abandoned(memory: MemoryJourneys, profile_id: str, cart_id: str, episode: int = 1) -> dict[str, Any]:
    detail = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": utc_iso(memory.now),
        "cart_id": cart_id,
        "profile_id": profile_id,
        "anonymous_id": None,
        "episode": episode,
        "lines": LINES,
        "value": "2897.90",
        "currency": "TRY",
        "last_activity_at": utc_iso(memory.now),
        "last_channel": "app",
    }
    return envelope(CARTS_SOURCE, "cart.abandoned", detail)


def test_the_abandoned_cart_is_asked_of_handoff_as_it_was_left_once_however_often_it_comes() -> None:
    # Given the offer journey and a customer whose cart was abandoned, delivered twice
    memory = MemoryJourneys(definitions=[offer_journey()])
    ayse = memory.customer("ayse", whatsapp="905321110001", consent={"whatsapp": True})
    cart = abandoned(memory, "ayse", "cart-1")

    # When it reaches the journeys function twice
    memory.service.handle_one(cart)
    memory.service.handle_one(cart)

    # Then handoff is asked once, with the cart as it was left and the journey step that asks
    [asked] = memory.published("store_offer.requested", ayse)
    assert (asked["cart_id"], asked["episode"], asked["value"], asked["currency"]) == ("cart-1", 1, "2897.90", "TRY")
    assert [(line["sku"], line["quantity"]) for line in asked["lines"]] == [("COAT-M", 1), ("SCARF", 2)]
    assert (asked["journey_id"], asked["step_id"], asked["run"]) == ("cart_offer", "offer", 1)
    assert asked["cart_event_id"] == cart["detail"]["event_id"]
    assert asked["event_id"] != asked["cart_event_id"]
    assert memory.store.counters("cart_offer")["store_offers"] == 1

    # And a later episode of the same cart, past the cooldown, is asked again as a second run
    memory.advance(hours=2)
    memory.service.handle_one(abandoned(memory, "ayse", "cart-1", episode=2))
    assert [d["episode"] for d in memory.published("store_offer.requested", ayse)] == [1, 2]


def test_held_out_customers_get_no_offer_and_both_groups_orders_count() -> None:
    # Given the journey with a holdout, and customers on both sides of it
    memory = MemoryJourneys(definitions=[offer_journey(holdout=0.5)])
    ids = [f"c{n}" for n in range(40)]
    treated = [i for i in ids if not held_out("cart_offer", i, 0.5)][:3]
    control = [i for i in ids if held_out("cart_offer", i, 0.5)][:3]
    for profile_id in treated + control:
        memory.customer(profile_id, whatsapp="905321110002", consent={"whatsapp": True})
        memory.service.handle_one(abandoned(memory, profile_id, f"cart-{profile_id}"))

    # When one of each group orders within the goal window
    memory.advance(days=1)
    memory.track(memory.customers.profiles[treated[0]], "Order Completed")
    memory.track(memory.customers.profiles[control[0]], "Order Completed")

    # Then only the treated customers' carts were asked of handoff, and the funnel compares both groups
    asked = {d["profile_id"] for d in memory.published("store_offer.requested")}
    assert asked == set(treated)
    counters = memory.store.counters("cart_offer")
    assert (counters["entered"], counters["held_out"]) == (3, 3)
    assert (counters["converted"], counters["converted_held_out"]) == (1, 1)


def test_a_store_offer_step_needs_the_cart_trigger() -> None:
    with pytest.raises(ValidationError, match="store_offer step needs the cart_abandoned trigger"):
        JourneyDefinition.model_validate(
            {
                "id": "bad",
                "version": 1,
                "name": "Bad",
                "trigger": {"event": "Signed Up"},
                "steps": [{"id": "offer", "type": "store_offer"}],
            }
        )
