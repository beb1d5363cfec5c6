"""Bringing one profile's carts together: which cart is home, and what becomes of the others (pure).

- The home of a profile's cart is the key of its smallest ``user_id`` (what a customer token's ``sub`` reaches in
  one read), else of its smallest ``anonymous_id``. Every other key of the profile becomes a pointer to it.
- ``merge`` mode: lines of the same product and variant add their quantities, capped by the per-line maximum;
  the home's lines come first, then the other carts' in key order. The cart's currency is the home's (if it has
  items), else that of the most recently active cart; a cart in another currency is kept as a saved cart.
- ``replace`` mode: among the carts with items, the most recently active wins (ties: the smaller key); every
  other cart with items is kept as a saved cart.

Deterministic (the same carts give the same plan whatever the order they were read in) and idempotent (a plan
applied once leaves only pointers, so planning again changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from carts.logic.cart import Cart, Limits, Line, OwnerKind, cart_key

MergeMode = Literal["merge", "replace"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def home_key(identifiers: Iterable[tuple[str, str]]) -> str | None:
    """The cart home of a profile with these identifiers (type, value); None when none can hold a cart."""
    users = sorted(value for kind, value in identifiers if kind == OwnerKind.USER_ID)
    if users:
        return cart_key(OwnerKind.USER_ID, users[0])
    anonymous = sorted(value for kind, value in identifiers if kind == OwnerKind.ANONYMOUS_ID)
    if anonymous:
        return cart_key(OwnerKind.ANONYMOUS_ID, anonymous[0])
    return None


def cart_keys(identifiers: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(
        {cart_key(kind, value) for kind, value in identifiers if kind in (OwnerKind.USER_ID, OwnerKind.ANONYMOUS_ID)}
    )


@dataclass(frozen=True)
class SavedCart:
    """A cart kept aside (replace mode, or another currency): stored beside the home cart."""

    home_key: str
    from_key: str
    from_version: int
    currency: str | None
    lines: tuple[Line, ...]
    last_activity_at: datetime | None


@dataclass(frozen=True)
class MergedFrom:
    from_key: str
    from_version: int
    saved: bool


@dataclass
class Plan:
    home: Cart
    pointers: list[Cart] = field(default_factory=list)
    saved: list[SavedCart] = field(default_factory=list)
    merged: list[MergedFrom] = field(default_factory=list)
    home_changed: bool = False

    @property
    def changes_anything(self) -> bool:
        return self.home_changed or bool(self.pointers) or bool(self.saved)


def _merge_lines(home: tuple[Line, ...], other: Sequence[Line], limits: Limits) -> tuple[Line, ...]:
    lines = list(home)
    for line in other:
        for index, existing in enumerate(lines):
            if existing.identity == line.identity:
                lines[index] = replace(
                    existing, quantity=min(existing.quantity + line.quantity, limits.max_line_quantity)
                )
                break
        else:
            if len(lines) < limits.max_lines:
                lines.append(replace(line, quantity=min(line.quantity, limits.max_line_quantity)))
    return tuple(lines)


def _saved(home: str, cart: Cart) -> SavedCart:
    return SavedCart(home, cart.key, cart.version, cart.currency, cart.lines, cart.last_activity_at)


def plan_consolidation(
    home: Cart, others: Sequence[Cart], *, mode: MergeMode, limits: Limits, profile_id: str | None
) -> Plan:
    """What to write so that ``others`` point to ``home`` and ``home`` holds the profile's cart."""
    others = sorted((cart for cart in others if cart.key != home.key), key=lambda cart: cart.key)
    start = replace(home, moved_to=None) if home.is_pointer else home  # a home is never a pointer
    new_home = replace(start, profile_id=profile_id or start.profile_id)
    plan = Plan(home=new_home)
    sources = [cart for cart in others if cart.exists and not cart.is_pointer and cart.lines]
    applied = dict(new_home.applied)
    for cart in others:
        applied.update(cart.applied)  # an event applied to a merged cart stays applied once (redeliveries)

    if mode == "merge":
        lines = new_home.lines
        currency = new_home.currency if new_home.lines else None
        if currency is None and sources:  # the cart's currency: the home's, else the most recently active cart's
            currency = max(sources, key=lambda cart: (cart.last_activity_at or _EPOCH, _reverse(cart.key))).currency
        for cart in sources:
            if currency and cart.currency and cart.currency != currency:
                plan.saved.append(_saved(new_home.key, cart))
                plan.merged.append(MergedFrom(cart.key, cart.version, saved=True))
                continue
            lines = _merge_lines(lines, cart.lines, limits)
            currency = currency or cart.currency
            plan.merged.append(MergedFrom(cart.key, cart.version, saved=False))
        if sources:
            latest = max([new_home, *sources], key=lambda cart: (cart.last_activity_at or _EPOCH, _reverse(cart.key)))
            new_home = replace(
                new_home,
                lines=lines,
                currency=currency,
                version=new_home.version + 1,
                last_activity_at=latest.last_activity_at,
                last_channel=latest.last_channel or new_home.last_channel,
            )
    else:
        contenders = ([new_home] if new_home.lines else []) + sources
        if contenders:
            winner = max(contenders, key=lambda cart: (cart.last_activity_at or _EPOCH, _reverse(cart.key)))
            for cart in contenders:
                if cart is not winner:
                    plan.saved.append(_saved(new_home.key, cart))
            for cart in sources:
                plan.merged.append(MergedFrom(cart.key, cart.version, saved=cart is not winner))
            if winner is not new_home:
                new_home = replace(
                    new_home,
                    lines=winner.lines,
                    currency=winner.currency,
                    version=new_home.version + 1,
                    last_activity_at=winner.last_activity_at,
                    last_channel=winner.last_channel,
                )

    new_home = replace(new_home, applied=applied)
    plan.home = new_home
    plan.home_changed = new_home != home or not home.exists
    for cart in others:
        if cart.moved_to == new_home.key and cart.profile_id == profile_id:
            continue
        plan.pointers.append(
            replace(
                cart,
                moved_to=new_home.key,
                lines=(),
                version=cart.version + (1 if cart.lines else 0),
                profile_id=profile_id or cart.profile_id,
                abandon_pending=False,
                abandon_retry_at=None,
            )
        )
    return plan


def _reverse(key: str) -> tuple[int, ...]:
    """Sorts keys backwards, so that ``max`` prefers the smaller key on a tie."""
    return tuple(-ord(char) for char in key)
