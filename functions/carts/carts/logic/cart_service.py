"""Reading and changing carts: one read and one conditional write per operation, retried when another writer
won the race, and the bus told what changed.

Every change is read → pure change → ``PutItem`` conditioned on the ``rev`` read. A writer that loses (another
device wrote in between) reads again and re-applies its change to the newer cart, so no update is lost. A client's
``If-Match`` names the content ``version`` it saw: when the cart moved on, the answer is 412 and nothing changes.

Bus events are applied at most once: their ids go into the cart item's ``applied`` map in the same write as the
change (atomic, no second table), remembered for ``dedupe_window``.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from carts.logic.cart import (
    CART_NAMESPACE,
    Cart,
    Limits,
    OwnerKind,
    abandon_due_at,
    cart_key,
    in_minor_units,
    prune_applied,
)
from carts.logic.cart_merge import MergeMode
from carts.logic.ports import CartStore, CartWrite, WriteConflict
from omnichannel.canonical_event import Channel
from omnichannel.cart_events import CARTS_SOURCE, CartEventType, CartLine, CartUpdated
from omnichannel.event_bus import BusEvent, EventPublisher

MAX_POINTER_HOPS = 4


@dataclass(frozen=True)
class CartRules:
    limits: Limits = field(default_factory=Limits)
    mode: MergeMode = "merge"
    default_currency: str = "TRY"
    abandon_after: timedelta = timedelta(minutes=60)
    abandon_retry: timedelta = timedelta(minutes=15)
    recovery_window: timedelta = timedelta(days=7)
    due_shards: int = 4
    sweep_budget: int = 500
    anonymous_ttl: timedelta = timedelta(days=30)
    saved_ttl: timedelta = timedelta(days=90)
    dedupe_window: timedelta = timedelta(hours=72)
    attempts: int = 12


class PreconditionFailed(Exception):
    """``If-Match`` named another version of the cart than the current one."""

    def __init__(self, current: Cart) -> None:
        super().__init__("the cart changed since that version")
        self.current = current


class SignedIn(Exception):
    """The device's cart joined a customer's cart at sign-in: the customer's token reaches it, the device's
    credential alone no longer does."""


class TooMuchContention(Exception):
    """Every attempt lost the race to another writer."""


@dataclass(frozen=True)
class Expected:
    """A client's ``If-Match``: the version it saw (and the cart id, when it sent the ETag)."""

    version: int
    cart_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    cart: Cart
    duplicate: bool = False
    changed: bool = True


Change = Callable[[Cart], Cart]


def cart_event_id(*parts: str) -> str:
    return str(uuid.uuid5(CART_NAMESPACE, "\x1f".join(parts)))


def cart_lines(cart: Cart, fallback_currency: str) -> list[CartLine]:
    currency = cart.currency or fallback_currency
    return [
        CartLine(
            product_id=line.product_id,
            variant=line.variant,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=in_minor_units(line.unit_price, currency),
            currency=currency,
        )
        for line in cart.lines
    ]


def anonymous_id_of(cart: Cart) -> str | None:
    kind, value = cart.owner
    return value if kind == OwnerKind.ANONYMOUS_ID else None


class CartService:
    def __init__(
        self,
        store: CartStore,
        publisher: EventPublisher,
        clock: Callable[[], datetime],
        rules: CartRules | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.rules = rules or CartRules()
        self._sleep = sleep

    # ------------------------------------------------------------------ reading
    def resolve(self, key: str, *, follow: bool = True) -> Cart:
        """The cart reached from ``key``: the item itself, or the cart its pointer leads to (one read each).
        ``follow=False`` (a device's own credential): a device cart that joined a customer's cart at sign-in
        raises :class:`SignedIn` instead of leading there."""
        cart = self.store.load(key)
        if not follow and cart.is_pointer:
            raise SignedIn(key)
        for _ in range(MAX_POINTER_HOPS):
            if cart.moved_to is None:
                return cart
            cart = self.store.load(cart.moved_to)
        if cart.moved_to is not None:
            raise RuntimeError(f"cart pointers from {key} go deeper than {MAX_POINTER_HOPS}")
        return cart

    # ------------------------------------------------------------------ writing
    def write_of(self, cart: Cart, previous: Cart) -> CartWrite:
        """The conditional write of ``cart`` over ``previous`` (the state it was read as)."""
        now = self.clock()
        stamped = replace(
            cart,
            exists=True,
            rev=previous.rev + 1,
            created_at=cart.created_at or now,
            applied=prune_applied(cart.applied, now, self.rules.dedupe_window),
        )
        expires_at = None
        if stamped.owner[0] == OwnerKind.ANONYMOUS_ID:
            expires_at = int(((stamped.last_activity_at or now) + self.rules.anonymous_ttl).timestamp())
        return CartWrite(
            cart=stamped,
            expected_rev=previous.rev if previous.exists else None,
            due_at=abandon_due_at(stamped, self.rules.abandon_after),
            expires_at=expires_at,
        )

    def mutate(
        self,
        key: str,
        change: Change,
        *,
        event_id: str | None = None,
        expected: Expected | None = None,
        follow: bool = True,
    ) -> Outcome:
        """Read the cart reached from ``key``, apply ``change``, write it back if nobody wrote in between; retry
        otherwise. ``event_id``: a bus event applied at most once. ``expected``: the client's If-Match.
        ``follow``: whether a pointer may be followed (see :meth:`resolve`)."""
        for attempt in range(self.rules.attempts):
            current = self.resolve(key, follow=follow)
            if event_id is not None and event_id in current.applied:
                return Outcome(current, duplicate=True, changed=False)
            if expected is not None and (
                expected.version != current.version
                or (expected.cart_id is not None and expected.cart_id != current.cart_id)
            ):
                raise PreconditionFailed(current)
            updated = change(current)
            if event_id is not None:
                updated = replace(updated, applied={**updated.applied, event_id: int(self.clock().timestamp())})
            if updated == current:
                return Outcome(current, changed=False)
            write = self.write_of(updated, current)
            try:
                self.store.save(write)
            except WriteConflict:
                self._backoff(attempt)
                continue
            return Outcome(write.cart, changed=write.cart.version != current.version)
        raise TooMuchContention(key)

    def _backoff(self, attempt: int) -> None:
        if attempt:
            self._sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not a secret

    def label(self, key: str, profile_id: str) -> Cart:
        """Name the profile a cart belongs to (``profile_id`` on it, in its bus events): never moves anything."""
        return self.mutate(key, lambda cart: replace(cart, profile_id=profile_id)).cart

    def customer_home(self, profile_id: str) -> str | None:
        """The cart of the customer a profile (followed to its survivor) belongs to: its customer id's."""
        mirror = self.store.profile(profile_id)
        for _ in range(MAX_POINTER_HOPS * 2):
            if mirror is None or not mirror.merged_into:
                break
            mirror = self.store.profile(mirror.merged_into)
        if mirror is None:
            return None
        users = sorted(value for kind, value in mirror.identifiers if kind == OwnerKind.USER_ID)
        return cart_key(OwnerKind.USER_ID, users[0]) if users else None

    # ------------------------------------------------------------------ bus
    def updated_event(self, cart: Cart, channel: str | None) -> BusEvent:
        detail = CartUpdated(
            event_id=cart_event_id(cart.cart_id, "updated", str(cart.version)),
            occurred_at=cart.last_activity_at or self.clock(),
            cart_id=cart.cart_id,
            profile_id=cart.profile_id,
            anonymous_id=anonymous_id_of(cart),
            version=cart.version,
            lines=cart_lines(cart, self.rules.default_currency),
            value=in_minor_units(cart.value, cart.currency or self.rules.default_currency),
            currency=cart.currency or self.rules.default_currency,
            channel=channel_of(channel),
        )
        return bus_event(CartEventType.UPDATED, detail.model_dump(mode="json"))

    def announce(self, events: list[BusEvent]) -> list[str]:
        """Publish; returns the ids that could not be published."""
        if not events:
            return []
        return list(self.publisher.publish(events).failed)


def channel_of(value: str | None) -> Channel | None:
    try:
        return Channel(value) if value else None
    except ValueError:
        return None


def bus_event(kind: CartEventType, detail: dict[str, Any]) -> BusEvent:
    return BusEvent(event_id=str(detail["event_id"]), source=CARTS_SOURCE, detail_type=kind.value, detail=detail)
