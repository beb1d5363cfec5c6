"""Captured e-commerce events and profile events applied to carts: the samples in events/bus, at-most-once
application, a late event after an order, and erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carts.logic.cart import OwnerKind, cart_key
from carts.logic.commerce_events import UnusableEvent, apply_event
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.cart_events import CartAbandoned
from omnichannel.profile_events import ProfileCreated, ProfileErased
from tests.support.carts_harness import T0, CartsHarness, commerce_event, product

EVENTS = Path(__file__).resolve().parents[3] / "events"


def _sample(name: str, folder: str = "bus") -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((EVENTS / folder / name).read_text(encoding="utf-8"))
    return sample


def test_the_samples_drive_carts_and_a_redelivery_counts_once(carts: CartsHarness) -> None:
    # Given the captured Product Added sample (user and anonymous id) delivered twice
    added = CanonicalEvent.model_validate(_sample("product_added.json")["detail"])
    first = apply_event(carts.service, added)
    second = apply_event(carts.service, added)
    # Then one line, quantity 1, at the sample's price, in the user's cart
    assert (first.outcome, second.outcome) == ("applied", "duplicate")
    cart = carts.service.resolve(cart_key(OwnerKind.USER_ID, "cus_1001"))
    assert [(line.product_id, line.variant, line.quantity, str(line.unit_price)) for line in cart.lines] == [
        ("P-2042", "Kırmızı / M", 1, "89.9")
    ]
    assert len(carts.published("cart.updated")) == 1
    # And the profile sample is what carts reads; the cart.abandoned sample is what it writes
    ProfileCreated.model_validate(_sample("profile_created.json", "carts")["detail"])
    CartAbandoned.model_validate(_sample("cart_abandoned.json", "carts")["detail"])


def test_removed_viewed_and_late_events(carts: CartsHarness) -> None:
    device = "anon-events-0001"
    apply_event(carts.service, commerce_event("Product Added", product("P-1", quantity=3), anonymous_id=device))
    apply_event(carts.service, commerce_event("Product Removed", product("P-1", quantity=1), anonymous_id=device))
    viewed = apply_event(carts.service, commerce_event("Cart Viewed", {}, anonymous_id=device))
    cart = carts.service.resolve(cart_key(OwnerKind.ANONYMOUS_ID, device))
    assert [(line.product_id, line.quantity) for line in cart.lines] == [("P-1", 2)]
    assert viewed.outcome in ("applied", "unchanged")
    # An order closes the cart; an add that happened before the order but arrives after it is not re-added
    order = commerce_event("Order Completed", {"order_id": "O-1", "revenue": "20"}, anonymous_id=device)
    apply_event(carts.service, order.model_copy(update={"occurred_at": T0.replace(minute=10)}))
    apply_event(carts.service, commerce_event("Product Added", product("P-9"), anonymous_id=device))
    assert carts.service.resolve(cart_key(OwnerKind.ANONYMOUS_ID, device)).lines == ()


def test_a_late_order_takes_off_what_it_bought_and_keeps_what_was_added_after_it(carts: CartsHarness) -> None:
    # Given a coat added at 9:00 and bought at 9:05, and a scarf added at 9:20
    device = "anon-events-0002"
    coat = commerce_event("Product Added", product("P-COAT"), anonymous_id=device, at=T0.replace(minute=0))
    apply_event(carts.service, coat)
    scarf = commerce_event(
        "Product Added", product("P-SCARF", quantity=2), anonymous_id=device, at=T0.replace(minute=20)
    )
    apply_event(carts.service, scarf)
    # When the order (9:05, listing the coat) arrives after the scarf
    order = commerce_event(
        "Order Completed",
        {"order_id": "O-2", "revenue": "100", "products": [product("P-COAT")]},
        anonymous_id=device,
        at=T0.replace(minute=5),
    )
    apply_event(carts.service, order)
    # Then only the coat came off: the scarf added after the order stays, and the cart stays open
    cart = carts.service.resolve(cart_key(OwnerKind.ANONYMOUS_ID, device))
    assert [(line.product_id, line.quantity) for line in cart.lines] == [("P-SCARF", 2)]
    assert cart.closed_at is None
    # And delivering the order again changes nothing
    assert apply_event(carts.service, order).outcome == "duplicate"
    assert carts.service.resolve(cart_key(OwnerKind.ANONYMOUS_ID, device)).lines == cart.lines


def test_events_that_cannot_change_a_cart_are_refused(carts: CartsHarness) -> None:
    with pytest.raises(UnusableEvent):
        apply_event(carts.service, commerce_event("Product Added", product("P-1")))  # nobody
    with pytest.raises(UnusableEvent):
        apply_event(carts.service, commerce_event("Product Added", {"price": 3}, anonymous_id="anon-x-0001"))


def test_profile_erased_deletes_the_customers_carts(carts: CartsHarness) -> None:
    for device in ("anon-erase-0001", "anon-erase-0002"):
        apply_event(carts.service, commerce_event("Product Added", product("P-1"), anonymous_id=device))
    apply_event(carts.service, commerce_event("Product Added", product("P-2"), anonymous_id="anon-keep-0001"))
    carts.sync.created(
        ProfileCreated(
            event_id="e-1",
            occurred_at=T0,
            profile_id="prof-e",
            identifiers={"user_id": ["cus-e"], "anonymous_id": ["anon-erase-0001", "anon-erase-0002"]},
        )
    )
    result = carts.sync.erased(
        ProfileErased(event_id="e-2", occurred_at=T0, profile_id="prof-e", profile_ids=["prof-e"], identifiers={})
    )
    assert result.deleted == 4  # the customer's cart, two device pointers, carts' record of the profile
    items = carts.client.scan(TableName=carts.table)["Items"]
    assert [item["pk"]["S"] for item in items] == ["CART#anonymous_id#anon-keep-0001"]
