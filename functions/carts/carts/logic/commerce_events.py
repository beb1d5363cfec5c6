"""Segment e-commerce events from any channel (captured, canonical) applied to the cart of whoever sent them.

- ``Product Added``: the product (``product_id``, else ``sku``, else ``id``) and ``variant`` gain ``quantity``
  (default 1) at ``price`` in ``currency`` (else the cart's, else the default).
- ``Product Removed``: the line loses ``quantity``, or goes when no quantity is given.
- ``Cart Viewed``, ``Checkout Started``: activity (the idle clock restarts).
- ``Order Completed``: the cart empties and closes; after an abandonment, ``cart.recovered`` with the revenue.

Whose cart: the event's ``user_id``'s, else its ``anonymous_id``'s (the device's own cart; after a sign-in it
points to the customer's). Else, **the customer's cart follows them**: an event from the store (loyalty card,
phone), WhatsApp, a call or an e-mail link reaches the cart of the customer an identifier of it is tied to by
verified links (carts learns them from profile events, never from a client's say-so). An order placed that way
takes only the bought lines off the online cart, which stays open (the coat bought in the store leaves the cart;
the scarf stays). An order naming identifiers carts does not know yet is parked for a day: the profile event that
teaches them applies it. A line change older than the cart's last order is a late delivery of what the order
already settled: recorded as applied, not re-added.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from carts.logic.cart import (
    Cart,
    CartRuleError,
    Line,
    OwnerKind,
    add_line,
    cart_key,
    close_for_order,
    in_minor_units,
    remove_product,
    take_bought_lines,
    touch,
)
from carts.logic.cart_service import CartService, bus_event, cart_event_id, channel_of
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.cart_events import CartEventType, CartRecovered
from omnichannel.event_bus import BusEvent
from omnichannel.identifiers import IdentifierType

PRODUCT_ADDED = "Product Added"
PRODUCT_REMOVED = "Product Removed"
CART_VIEWED = "Cart Viewed"
CHECKOUT_STARTED = "Checkout Started"
ORDER_COMPLETED = "Order Completed"
CART_EVENTS = (PRODUCT_ADDED, PRODUCT_REMOVED, CART_VIEWED, CHECKOUT_STARTED, ORDER_COMPLETED)
# Identifiers through which a customer's cart follows them (besides the cart keys user_id / anonymous_id).
FOLLOWING_TYPES = (
    IdentifierType.LOYALTY_CARD,
    IdentifierType.POS_CUSTOMER,
    IdentifierType.EMAIL,
    IdentifierType.PHONE,
    IdentifierType.WHATSAPP,
    IdentifierType.MESSENGER,
    IdentifierType.INSTAGRAM,
)
PARKED_FOR = timedelta(days=1)


class UnusableEvent(ValueError):
    """An event that cannot change a cart (no identifier, no product): dropped, never retried."""


@dataclass(frozen=True)
class Applied:
    outcome: str  # applied | duplicate | unchanged
    cart: Cart
    published: list[str]
    failed: list[str]
    recovery_unannounced: bool = False  # cart.recovered could not be published: the caller must fail (retry)


@dataclass(frozen=True)
class Owner:
    key: str
    followed: bool = False  # reached through an identifier tied to the customer, not one of the cart's own keys


def owner_key(event: CanonicalEvent) -> str | None:
    """The cart key of the event's own ids: its ``user_id``'s, else its ``anonymous_id``'s."""
    user_id = event.identifiers.get(IdentifierType.USER_ID)
    if user_id:
        return cart_key(OwnerKind.USER_ID, user_id)
    anonymous_id = event.identifiers.get(IdentifierType.ANONYMOUS_ID)
    if anonymous_id:
        return cart_key(OwnerKind.ANONYMOUS_ID, anonymous_id)
    return None


def following(event: CanonicalEvent) -> list[tuple[str, str]]:
    return [(kind.value, event.identifiers[kind]) for kind in FOLLOWING_TYPES if kind in event.identifiers]


def find_owner(service: CartService, event: CanonicalEvent) -> Owner | None:
    """Whose cart the event changes; ``None`` when it names nobody carts knows (yet)."""
    own = owner_key(event)
    if own is not None:
        return Owner(own)
    pairs = following(event)
    if not pairs:
        return None
    linked = service.store.linked_profiles(pairs)
    for pair in pairs:
        if pair in linked:
            home = service.customer_home(linked[pair])
            if home is not None:
                return Owner(home, followed=True)
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


# What the cart API takes (14 digits, 4 of them decimals); an event's price beyond it is not a price. Kept within
# these bounds every total a cart computes fits in a DynamoDB number (38 digits, at most 1e125), which
# ``decimal.Overflow`` or ``Inexact`` would otherwise refuse when the cart is written.
MAX_PRICE = Decimal("9999999999.9999")
PRICE_QUANTUM = Decimal("0.0001")
MAX_QUANTITY = 1_000_000


def money(value: Any) -> Decimal | None:
    """A price as the cart keeps it (at most 4 decimals), or None when it is not a price a cart can hold."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or not 0 <= amount <= MAX_PRICE:
            return None
        kept = amount.quantize(PRICE_QUANTUM)
        return kept if kept != amount else amount
    except (InvalidOperation, ValueError):
        return None


def _quantity(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
        if not number.is_finite() or number != number.to_integral_value() or not 0 < number <= MAX_QUANTITY:
            return None
    except (InvalidOperation, ValueError):
        return None
    return int(number)


def _currency(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text and len(text) == 3 and text.isalpha() else None


def product_line(properties: dict[str, Any]) -> Line:
    product_id = _text(properties.get("product_id")) or _text(properties.get("sku")) or _text(properties.get("id"))
    if product_id is None:
        raise UnusableEvent("the event names no product (product_id, sku or id)")
    return Line(
        product_id=product_id,
        quantity=_quantity(properties.get("quantity")) or 1,
        unit_price=money(properties.get("price")) or Decimal(0),
        variant=_text(properties.get("variant")),
        sku=_text(properties.get("sku")),
        name=_text(properties.get("name")),
    )


def order_revenue(properties: dict[str, Any]) -> Decimal:
    for name in ("revenue", "total"):
        amount = money(properties.get(name))
        if amount is not None:
            return amount
    total = Decimal(0)
    for product in properties.get("products") or []:
        if isinstance(product, dict):
            total += (money(product.get("price")) or Decimal(0)) * (_quantity(product.get("quantity")) or 1)
    return total


def ordered_products(properties: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    """The Segment ``products`` of an order as (product, variant, quantity); entries naming no product are skipped."""
    ordered = []
    for product in properties.get("products") or []:
        if not isinstance(product, dict):
            continue
        product_id = _text(product.get("product_id")) or _text(product.get("sku")) or _text(product.get("id"))
        if product_id is not None:
            ordered.append((product_id, _text(product.get("variant")), _quantity(product.get("quantity")) or 1))
    return ordered


def _recovered_event(cart: Cart) -> BusEvent | None:
    """The ``cart.recovered`` of the order this cart last closed on, if that order recovered an episode."""
    recovery = cart.last_recovery
    if not recovery:
        return None
    detail = CartRecovered.model_validate(recovery)
    return bus_event(CartEventType.RECOVERED, detail.model_dump(mode="json"))


def apply_event(service: CartService, event: CanonicalEvent) -> Applied:
    """Apply one captured e-commerce event to its cart, at most once, and announce what changed; park an event
    whose customer carts does not know yet."""
    name = event.name or ""
    if name not in CART_EVENTS:
        raise UnusableEvent(f"{name!r} is not a cart event")
    owner = find_owner(service, event)
    if owner is None:
        if not following(event):
            raise UnusableEvent("the event names no cart: no user_id, anonymous_id or identifier of a customer")
        # The profile event that ties its identifier to a customer may come next: park it (no identifiers kept),
        # then look once more, in case that profile event came meanwhile and found nothing parked.
        names = following(event)
        service.store.park(event, names, int((service.clock() + PARKED_FOR).timestamp()))
        owner = find_owner(service, event)
        if owner is None:
            return Applied("parked", Cart(key=""), [], [])
        service.store.unpark(event.event_id, names)
    return apply_to(service, event, owner)


def apply_to(service: CartService, event: CanonicalEvent, owner: Owner) -> Applied:
    """Apply ``event`` to the cart of ``owner``."""
    name = event.name or ""
    key = owner.key
    at = event.occurred_at
    channel = event.channel.value
    rules = service.rules
    properties = event.properties

    if name == PRODUCT_ADDED:
        line = product_line(properties)
        currency = _currency(properties.get("currency"))

        def change(cart: Cart) -> Cart:
            if cart.closed_at is not None and at < cart.closed_at:
                return cart
            try:
                return add_line(
                    cart, line, rules.limits, at, channel, currency or cart.currency or rules.default_currency
                )
            except CartRuleError as error:
                raise UnusableEvent(error.message) from error

    elif name == PRODUCT_REMOVED:
        line = product_line(properties)
        quantity = _quantity(properties.get("quantity"))

        def change(cart: Cart) -> Cart:
            if cart.closed_at is not None and at < cart.closed_at:
                return cart
            return remove_product(cart, line.product_id, line.variant, quantity, at, channel)

    elif name in (CART_VIEWED, CHECKOUT_STARTED):

        def change(cart: Cart) -> Cart:
            return touch(cart, at, channel)

    else:
        order_id = _text(properties.get("order_id"))
        revenue = order_revenue(properties)
        order_currency = _currency(properties.get("currency"))

        ordered = ordered_products(properties)

        def change(cart: Cart) -> Cart:
            if owner.followed:  # bought elsewhere (the store, a phone order): only those lines come off
                closed, recovery = take_bought_lines(cart, at, order_id, channel, rules.recovery_window, ordered)
            else:
                closed, recovery = close_for_order(cart, at, order_id, channel, rules.recovery_window, ordered)
            if recovery is None:
                return replace(closed, last_recovery=None)
            detail = CartRecovered(
                event_id=cart_event_id(cart.cart_id, "recovered", str(recovery.episode)),
                occurred_at=at,
                cart_id=cart.cart_id,
                profile_id=cart.profile_id,
                anonymous_id=cart.owner[1] if cart.owner[0] == OwnerKind.ANONYMOUS_ID else None,
                episode=recovery.episode,
                order_id=order_id,
                order_event_id=event.event_id,
                revenue=in_minor_units(revenue, order_currency or cart.currency or rules.default_currency),
                currency=order_currency or cart.currency or rules.default_currency,
                channel=channel_of(channel),
                abandoned_at=recovery.abandoned_at,
            )
            return replace(closed, last_recovery=detail.model_dump(mode="json"))

    result = service.mutate(key, change, event_id=event.event_id)
    events: list[BusEvent] = []
    recovered: BusEvent | None = None
    if name == ORDER_COMPLETED:
        recovered = _recovered_event(result.cart)
        # On a redelivery the order was applied already: announce its recovery again (same event id) in case the
        # first attempt stored the change but could not publish.
        if recovered is not None and recovered.detail.get("order_event_id") == event.event_id:
            events.append(recovered)
        else:
            recovered = None
    if result.changed:
        events.append(service.updated_event(result.cart, channel))
    failed = service.announce(events)
    outcome = "duplicate" if result.duplicate else ("applied" if result.changed else "unchanged")
    published = [item.event_id for item in events if item.event_id not in failed]
    unannounced = recovered is not None and recovered.event_id in failed
    return Applied(outcome, result.cart, published, failed, recovery_unannounced=unannounced)
