"""The last look before a reserve-in-store offer goes out (pure: no boto3).

Between the decision (``outbound.store_offers.offer_service``) and the send, which quiet hours can put hours apart, the
customer may have bought the cart or changed it, and the store may have sold out. ``cancel_reason`` answers,
from what the delivery worker reads just before it sends, why the offer must not go out (``None``: send it):

1. ``cart_bought``: the episode was recovered (carts counts an ``Order Completed`` after the abandonment as
   ``recovered_episodes >= episode``) or the cart was closed by an order after it was abandoned;
2. ``cart_changed``: the cart is no longer this episode's abandoned cart: it moved into another cart (a login or a
   profile merge left a pointer), a later episode started (``abandoned_episodes`` beyond this one: the customer came
   back, and the newer episode has its own decision), or it no longer holds every offered line in the offered
   quantity (removed, emptied without an order, or partly bought by a late order);
3. ``no_stock``: the offered store no longer holds every line's quantity.

A cart the worker cannot find (``CartFacts`` absent: not among the profile's carts, or the profile is gone) is no
evidence of a purchase: the decision stands and only the stock is checked again. Activity that did not change the
offered lines (a cart view, a line added) does not cancel the offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from omnichannel.canonical_event import utc_iso
from outbound.delivery.message import OutboundMessage
from outbound.store_offers.offer_ticket import OfferTicket
from outbound.store_offers.store_offer import Line, in_stock


class CancelReason(StrEnum):
    CART_BOUGHT = "cart_bought"
    CART_CHANGED = "cart_changed"
    NO_STOCK = "no_stock"


@dataclass(frozen=True)
class CartFacts:
    """The cart of the offered episode as the carts table holds it now."""

    pointer: bool = False
    abandoned_episodes: int = 0
    recovered_episodes: int = 0
    abandoned_at: str | None = None
    closed_at: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # sku (else product id) -> quantity held


@dataclass(frozen=True)
class OfferFacts:
    episode: int
    lines: Sequence[Line]  # what the offer promised (the ticket's cart snapshot)
    stock: Mapping[str, int]  # the offered store's quantity on hand per sku, read now
    cart: CartFacts | None = None  # None: the cart could not be found


def _after(later: str | None, earlier: str | None) -> bool:
    if later is None:
        return False
    if earlier is None:
        return True
    return datetime.fromisoformat(later) > datetime.fromisoformat(earlier)


def cancel_reason(facts: OfferFacts) -> CancelReason | None:
    cart = facts.cart
    if cart is not None:
        if cart.recovered_episodes >= facts.episode or (
            cart.abandoned_episodes == facts.episode and _after(cart.closed_at, cart.abandoned_at)
        ):
            return CancelReason.CART_BOUGHT
        if cart.pointer or cart.abandoned_episodes != facts.episode:
            return CancelReason.CART_CHANGED
        needed: dict[str, int] = {}
        for line in facts.lines:
            needed[line.sku] = needed.get(line.sku, 0) + line.quantity
        if any(cart.lines.get(sku, 0) < quantity for sku, quantity in needed.items()):
            return CancelReason.CART_CHANGED
    if not in_stock(facts.stock, facts.lines):
        return CancelReason.NO_STOCK
    return None


def snapshot_of(ticket: OfferTicket) -> tuple[str, int, list[Line]] | None:
    """The cart id, episode and offered lines a reserve-in-store ticket was issued for (None if it has none)."""
    snapshot: Mapping[str, Any] = ticket.cart_snapshot or {}
    try:
        cart_id = str(snapshot["cart_id"])
        episode = int(snapshot["episode"])
        lines = [Line(str(line["sku"]), int(line["quantity"])) for line in snapshot.get("lines", [])]
    except (KeyError, TypeError, ValueError):
        return None
    return cart_id, episode, lines


class Tickets(Protocol):
    def get(self, code: str, at: datetime | None = None) -> OfferTicket | None: ...
    def void(self, code: str, at: datetime, reason: str = ...) -> bool: ...


class Carts(Protocol):
    def cart_episode(self, profile_id: str, cart_id: str) -> CartFacts | None: ...


class Stock(Protocol):
    def stock(self, store_ids: Any, skus: Any) -> dict[str, dict[str, int]]: ...
    def release(self, store_id: str, ticket_code: str) -> int: ...


class Offers(Protocol):
    def mark_cancelled(self, cart_id: str, episode: int, message_id: str, reason: str, at: str) -> bool: ...


@dataclass
class OfferRecheck:
    """The dispatcher's precondition for store offers (``offer_reason`` messages; every other message passes).

    Reads: the offer's ticket (GetItem, outbound's copy), the profile (one GetItem per merge hop, then GetItem), the
    cart (GetItem) and the store's stock for the offered skus (one BatchGetItem). ``cancelled`` ends what the offer
    left open, idempotently: the ticket is voided (conditional on it still being open; the table's stream asks
    handoff to void its ticket too), the stock it held is released and the decision records the reason.
    """

    tickets: Tickets
    carts: Carts
    stock: Stock
    offers: Offers
    clock: Callable[[], datetime]
    offer_reason: str

    def __call__(self, message: OutboundMessage) -> str | None:
        if message.reason != self.offer_reason or not message.ticket_code:
            return None
        ticket = self.tickets.get(message.ticket_code)
        found = snapshot_of(ticket) if ticket is not None else None
        if ticket is None or found is None or not ticket.store_id:
            return None  # nothing to check against: the decision stands
        cart_id, episode, lines = found
        stock = self.stock.stock([ticket.store_id], [line.sku for line in lines]).get(ticket.store_id, {})
        cart = self.carts.cart_episode(message.profile_id, cart_id)
        reason = cancel_reason(OfferFacts(episode=episode, lines=lines, stock=stock, cart=cart))
        return reason.value if reason is not None else None

    def cancelled(self, message: OutboundMessage, reason: str) -> None:
        if not message.ticket_code:
            return
        now = self.clock()
        ticket = self.tickets.get(message.ticket_code, now)
        self.tickets.void(message.ticket_code, now, reason)  # the stream asks handoff to void its ticket
        if ticket is not None and ticket.store_id:
            self.stock.release(ticket.store_id, message.ticket_code)  # the stock it held is free again
        found = snapshot_of(ticket) if ticket is not None else None
        if found is not None:
            self.offers.mark_cancelled(found[0], found[1], message.message_id, reason, utc_iso(now))
