"""A device's cart joins the customer's cart when the customer signs in on that device: the customer's token and
that device's own cart credential together, as commercetools merges an anonymous cart on sign-in.

Nothing else makes a device's cart join anyone's: not an analytics ``identify`` (anyone holding the public write
key can send one naming any device and any customer), not a profile merge. Once joined, the device's cart points
to the customer's (its later analytics events land there), but the device's credential alone no longer opens it:
the customer's token does (``CartService.resolve(..., follow=False)``).

``CartMergeMode`` applies (``merge`` adds quantities, ``replace`` keeps the most recently active cart and saves the
other); one read (``BatchGetItem`` of both carts) and one transaction, conditioned on both; idempotent (a device
already joined, to this customer or anyone else on a shared device, brings nothing again).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carts.logic.cart import Cart, OwnerKind, cart_id_of, cart_key
from carts.logic.cart_merge import MergedFrom, plan_consolidation
from carts.logic.cart_service import CartService, TooMuchContention, bus_event, cart_event_id
from carts.logic.ports import WriteConflict
from omnichannel.cart_events import CartEventType, CartMerged
from omnichannel.event_bus import BusEvent


@dataclass
class SignInResult:
    cart: Cart
    merged: list[MergedFrom] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def sign_in(service: CartService, user_id: str, anonymous_id: str) -> SignInResult:
    """Bring the device's cart (``anonymous_id``, its credential) into the cart of ``user_id`` (the token's sub)."""
    home_key = cart_key(OwnerKind.USER_ID, user_id)
    device_key = cart_key(OwnerKind.ANONYMOUS_ID, anonymous_id)
    rules = service.rules
    for attempt in range(rules.attempts):
        carts = service.store.load_many([home_key, device_key])
        home, device = carts[home_key], carts[device_key]
        if device.is_pointer:
            return SignInResult(home)  # brought already (by this customer, or another one on a shared device)
        plan = plan_consolidation(home, [device], mode=rules.mode, limits=rules.limits, profile_id=home.profile_id)
        writes = [service.write_of(plan.home, home)] if plan.home_changed else []
        writes += [service.write_of(pointer, carts[pointer.key]) for pointer in plan.pointers]
        now = service.clock()
        try:
            service.store.save_all(writes, plan.saved, int((now + rules.saved_ttl).timestamp()))
        except WriteConflict:
            service._backoff(attempt)
            continue
        cart = writes[0].cart if plan.home_changed else home
        events: list[BusEvent] = []
        for merged in plan.merged:
            detail = CartMerged(
                event_id=cart_event_id(cart.cart_id, "merged", cart_id_of(merged.from_key), str(merged.from_version)),
                occurred_at=now,
                cart_id=cart.cart_id,
                profile_id=cart.profile_id,
                from_cart_id=cart_id_of(merged.from_key),
                mode=rules.mode,
                version=cart.version,
                kept_as_saved=merged.saved,
            )
            events.append(bus_event(CartEventType.MERGED, detail.model_dump(mode="json")))
        if plan.merged:
            events.append(service.updated_event(cart, cart.last_channel))
        return SignInResult(cart, plan.merged, service.announce(events))
    raise TooMuchContention(home_key)
