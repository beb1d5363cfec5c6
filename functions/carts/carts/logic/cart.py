"""The cart as the domain sees it, and the pure operations on it: no HTTP, no boto3, no clock of its own.

A cart lives at the key of one identifier (``CART#user_id#<id>`` or ``CART#anonymous_id#<id>``). When that
identifier's owner turns out to have another cart home (a login, a profile merge), the item at this key becomes a
*pointer* (``moved_to``) to the home, so every device of the profile reaches the same cart.

Two counters: ``version`` changes when the cart's content changes (what a client's ``If-Match`` names), ``rev``
changes on every write of the item (what the conditional writes check), so server-side bookkeeping such as an
abandonment marker never makes a client's ``If-Match`` stale.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

CART_NAMESPACE = uuid.UUID("3d0b3c8e-2f57-4a59-9a1c-6f1d0c4f2b7e")
CART_SK = "CART"


class OwnerKind(StrEnum):
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"


def cart_key(kind: OwnerKind | str, value: str) -> str:
    return f"CART#{OwnerKind(kind).value}#{value}"


def owner_of_key(key: str) -> tuple[OwnerKind, str]:
    _, kind, value = key.split("#", 2)
    return OwnerKind(kind), value


def cart_id_of(key: str) -> str:
    """The cart's public id: opaque, so that an anonymous id (a device's secret) never shows in it."""
    return str(uuid.uuid5(CART_NAMESPACE, key))


def line_id_of(product_id: str, variant: str | None) -> str:
    digest = hashlib.sha256(f"{product_id}\x1f{variant or ''}".encode()).hexdigest()
    return digest[:16]


# ISO 4217 minor units where they are not 2 (money is shown with its currency's decimals, never fewer).
_MINOR_UNITS = {"BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3, "TND": 3, "VND": 0}


def in_minor_units(amount: Decimal, currency: str | None) -> Decimal:
    """``amount`` with at least the currency's decimals (1299.9 TRY -> 1299.90); extra precision is kept."""
    places = _MINOR_UNITS.get(currency or "", 2)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent >= places:
        return amount
    return amount.quantize(Decimal(1).scaleb(-places))


class CartRuleError(Exception):
    """An operation the cart refuses; ``code`` and ``field`` say why."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int
    unit_price: Decimal
    variant: str | None = None
    sku: str | None = None
    name: str | None = None

    @property
    def line_id(self) -> str:
        return line_id_of(self.product_id, self.variant)

    @property
    def identity(self) -> tuple[str, str | None]:
        return (self.product_id, self.variant)

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    """One item of the carts table: an active cart, or a pointer to the profile's cart (``moved_to``)."""

    key: str
    exists: bool = False
    rev: int = 0
    version: int = 0
    currency: str | None = None
    lines: tuple[Line, ...] = ()
    profile_id: str | None = None
    moved_to: str | None = None
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    last_channel: str | None = None
    closed_at: datetime | None = None
    last_order_id: str | None = None
    abandoned_episodes: int = 0
    recovered_episodes: int = 0
    abandoned_at: datetime | None = None
    abandon_pending: bool = False
    abandon_retry_at: datetime | None = None
    last_recovery: dict[str, Any] | None = None
    applied: dict[str, int] = field(default_factory=dict)  # bus event id -> epoch seconds it was applied

    @property
    def cart_id(self) -> str:
        return cart_id_of(self.key)

    @property
    def owner(self) -> tuple[OwnerKind, str]:
        return owner_of_key(self.key)

    @property
    def is_pointer(self) -> bool:
        return self.moved_to is not None

    @property
    def value(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.line_id == line_id), None)


@dataclass(frozen=True)
class Limits:
    max_line_quantity: int = 10
    max_lines: int = 100


def _touched(cart: Cart, now: datetime, channel: str | None) -> Cart:
    """Activity at ``now`` (an event's own time may be older than the last one: the clock never runs back)."""
    latest = now if cart.last_activity_at is None else max(cart.last_activity_at, now)
    return replace(cart, last_activity_at=latest, last_channel=channel or cart.last_channel)


def _content(cart: Cart, lines: tuple[Line, ...], currency: str | None) -> Cart:
    return replace(cart, lines=lines, currency=currency if lines else cart.currency, version=cart.version + 1)


def add_line(cart: Cart, line: Line, limits: Limits, now: datetime, channel: str | None, currency: str) -> Cart:
    """Add ``line.quantity`` of a product (and variant); the same product and variant add up, capped."""
    if line.quantity <= 0:
        raise CartRuleError(422, "invalid_quantity", "quantity must be at least 1", "quantity")
    if cart.lines and cart.currency and cart.currency != currency:
        raise CartRuleError(
            409, "currency_mismatch", f"the cart is in {cart.currency}, the line in {currency}", "currency"
        )
    lines = list(cart.lines)
    for index, existing in enumerate(lines):
        if existing.identity == line.identity:
            quantity = min(existing.quantity + line.quantity, limits.max_line_quantity)
            lines[index] = replace(
                existing,
                quantity=quantity,
                unit_price=line.unit_price,
                sku=line.sku or existing.sku,
                name=line.name or existing.name,
            )
            break
    else:
        if len(lines) >= limits.max_lines:
            raise CartRuleError(409, "too_many_lines", f"a cart holds at most {limits.max_lines} lines", "product_id")
        lines.append(replace(line, quantity=min(line.quantity, limits.max_line_quantity)))
    return _touched(_content(cart, tuple(lines), currency), now, channel)


def set_quantity(cart: Cart, line_id: str, quantity: int, limits: Limits, now: datetime, channel: str | None) -> Cart:
    """Change a line's quantity (capped); 0 removes the line."""
    if quantity < 0:
        raise CartRuleError(422, "invalid_quantity", "quantity must be 0 or more", "quantity")
    if cart.line(line_id) is None:
        raise CartRuleError(404, "line_not_found", "the cart has no such line", "line_id")
    capped = min(quantity, limits.max_line_quantity)
    lines = tuple(
        replace(line, quantity=capped) if line.line_id == line_id else line
        for line in cart.lines
        if line.line_id != line_id or capped > 0
    )
    return _touched(_content(cart, lines, cart.currency), now, channel)


def remove_line(cart: Cart, line_id: str, now: datetime, channel: str | None) -> Cart:
    if cart.line(line_id) is None:
        raise CartRuleError(404, "line_not_found", "the cart has no such line", "line_id")
    lines = tuple(line for line in cart.lines if line.line_id != line_id)
    return _touched(_content(cart, lines, cart.currency), now, channel)


def remove_product(
    cart: Cart, product_id: str, variant: str | None, quantity: int | None, now: datetime, channel: str | None
) -> Cart:
    """Segment ``Product Removed``: take ``quantity`` off the line (all of it when no quantity); absent: no change
    to the lines, but it is activity."""
    lines: list[Line] = []
    changed = False
    for line in cart.lines:
        if line.identity == (product_id, variant):
            changed = True
            left = 0 if quantity is None else line.quantity - quantity
            if left > 0:
                lines.append(replace(line, quantity=left))
        else:
            lines.append(line)
    updated = _content(cart, tuple(lines), cart.currency) if changed else cart
    return _touched(updated, now, channel)


def touch(cart: Cart, now: datetime, channel: str | None) -> Cart:
    """Activity without a content change (``Cart Viewed``, ``Checkout Started``): restarts the idle clock."""
    return _touched(cart, now, channel)


@dataclass(frozen=True)
class Recovery:
    episode: int
    abandoned_at: datetime


def _without_ordered(lines: tuple[Line, ...], ordered: Sequence[tuple[str, str | None, int]]) -> tuple[Line, ...]:
    """The lines left once the ordered quantities (product, variant, quantity) are taken off."""
    taken: dict[tuple[str, str | None], int] = {}
    for product_id, variant, quantity in ordered:
        taken[(product_id, variant)] = taken.get((product_id, variant), 0) + quantity
    left = []
    for line in lines:
        quantity = line.quantity - taken.get(line.identity, 0)
        if quantity > 0:
            left.append(replace(line, quantity=quantity))
    return tuple(left)


def close_for_order(
    cart: Cart,
    now: datetime,
    order_id: str | None,
    channel: str | None,
    recovery_window: timedelta,
    ordered: Sequence[tuple[str, str | None, int]] | None = None,
) -> tuple[Cart, Recovery | None]:
    """``Order Completed``: the cart empties and closes; an order after an unrecovered abandonment (within the
    window) recovers that episode.

    An order that arrives late, older than the cart's last activity (the customer went on shopping after it, and
    the events crossed on their way), must not empty what was put in since: when it lists its ``products``, only
    those quantities come off and the cart stays open; when it lists none, the cart empties as before (nothing
    tells which lines were bought).
    """
    if ordered and cart.last_activity_at is not None and now < cart.last_activity_at:
        lines = _without_ordered(cart.lines, ordered)
        late = _content(cart, lines, cart.currency) if lines != cart.lines else cart
        return replace(late, last_order_id=order_id, last_recovery=None), None
    recovery = None
    if (
        cart.abandoned_episodes > cart.recovered_episodes
        and cart.abandoned_at is not None
        and now - cart.abandoned_at <= recovery_window
    ):
        recovery = Recovery(episode=cart.abandoned_episodes, abandoned_at=cart.abandoned_at)
    closed = replace(
        _content(cart, (), cart.currency) if cart.lines else cart,
        closed_at=now,
        last_order_id=order_id,
        last_channel=channel or cart.last_channel,
        recovered_episodes=cart.abandoned_episodes,
        abandon_pending=False,
        abandon_retry_at=None,
    )
    return closed, recovery


def take_bought_lines(
    cart: Cart,
    now: datetime,
    order_id: str | None,
    channel: str | None,
    recovery_window: timedelta,
    ordered: Sequence[tuple[str, str | None, int]],
) -> tuple[Cart, Recovery | None]:
    """An order placed elsewhere (the store, a phone order) by the cart's customer: what they bought comes off the
    cart, the rest stays and the cart stays open. If it took lines off a cart whose abandonment was announced
    (within the window), that episode is recovered: the customer bought it in the store after the reminder."""
    lines = _without_ordered(cart.lines, ordered)
    if lines == cart.lines:
        return cart, None
    recovery = None
    if (
        cart.abandoned_episodes > cart.recovered_episodes
        and cart.abandoned_at is not None
        and now - cart.abandoned_at <= recovery_window
    ):
        recovery = Recovery(episode=cart.abandoned_episodes, abandoned_at=cart.abandoned_at)
    bought = replace(
        _touched(_content(cart, lines, cart.currency), now, channel),
        last_order_id=order_id,
        recovered_episodes=cart.abandoned_episodes if recovery else cart.recovered_episodes,
        abandon_pending=False if recovery else cart.abandon_pending,
        abandon_retry_at=None if recovery else cart.abandon_retry_at,
    )
    return bought, recovery


def abandon_due_at(cart: Cart, idle: timedelta) -> datetime | None:
    """When the abandonment sweep should look at this cart; None when it has nothing to say about it.

    Due: a cart (not a pointer) with items, idle for ``idle`` since its last activity, whose current episode was
    not yet announced; or an announcement that is still pending (retried at ``abandon_retry_at``).
    """
    if cart.abandon_pending:
        return cart.abandon_retry_at
    if cart.is_pointer or not cart.lines or cart.last_activity_at is None:
        return None
    if cart.abandoned_at is not None and cart.abandoned_at >= cart.last_activity_at:
        return None  # this episode was announced already
    return cart.last_activity_at + idle


def claim_abandonment(cart: Cart, now: datetime, retry_after: timedelta) -> Cart:
    """Start episode ``abandoned_episodes + 1``: marked pending until its event is on the bus."""
    return replace(
        cart,
        abandoned_episodes=cart.abandoned_episodes + 1,
        abandoned_at=now,
        abandon_pending=True,
        abandon_retry_at=now + retry_after,
    )


def abandonment_announced(cart: Cart) -> Cart:
    return replace(cart, abandon_pending=False, abandon_retry_at=None)


def prune_applied(applied: dict[str, int], now: datetime, window: timedelta) -> dict[str, int]:
    oldest = int((now - window).timestamp())
    return {event_id: moment for event_id, moment in applied.items() if moment >= oldest}
