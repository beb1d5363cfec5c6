"""Online to store, end to end for one ``cart.abandoned``: gather the facts, decide (``store_offer.decide``),
draw the reserve-in-store ticket's code, record the decision with the outbox message, the ticket (handoff is
asked for it by the outbound table's stream) and the stock it holds, and request the message.

Where the customer is: the profile trait ``home_store_id`` (that store's position), else the last known
position in the traits ``last_location`` / ``location`` (``{"lat", "lon"}`` or ``{"latitude", "longitude"}``)
or ``latitude`` / ``longitude`` (an app's location event sets them through ``identify``). Consent: the trait
``consent`` (``{"whatsapp": true, "email": "opted_out", ...}``, stamped with the time the profile recorded it)
and each conversation's ``START`` / ``STOP``. Idempotent on the cart episode (``cart_id``, ``episode``): a
redelivered event decides, tickets and sends nothing twice; if the first delivery stopped before it published
the message request, the redelivery publishes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from omnichannel.canonical_event import utc_iso
from omnichannel.cart_events import CartAbandoned
from omnichannel.event_bus import BusEvent, EventPublisher
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffEventType,
    OutboundMessageRequested,
    handoff_event_id,
)
from omnichannel.reachability import CustomerFacts, addresses, consent_signals
from omnichannel.retry import RetriesExhausted, attempts
from omnichannel.ticket_codes import display_code, new_code
from outbound.delivery.message import OutboundMessage
from outbound.store_offers.geo import Point
from outbound.store_offers.offer_record import Cap, OfferRecord
from outbound.store_offers.offer_ticket import OfferTicket
from outbound.store_offers.store_offer import (
    Decision,
    Facts,
    Line,
    Outcome,
    Policy,
    Store,
    decide,
    zone_of,
)

OFFER_TEMPLATE = "reserve_in_store"
OFFER_REASON = "cart_abandoned_in_stock_nearby"
MAX_ATTEMPTS = 5


class Customers(Protocol):
    def profile_of(self, profile_id: str | None, anonymous_id: str | None) -> str | None: ...
    def facts(self, profile_id: str) -> CustomerFacts | None: ...


class Holds(Protocol):
    """The stock held in one store as read (``StoreHolds``): quantity per sku, and its revision."""

    @property
    def held(self) -> Mapping[str, int]: ...


class Catalog(Protocol):
    def get(self, store_id: str) -> Store | None: ...
    def near(self, centre: Point, radius_km: float) -> list[tuple[Store, float]]: ...
    def stock(self, store_ids: Any, skus: Any) -> dict[str, dict[str, int]]: ...
    def holds(self, store_ids: Iterable[str], now: str) -> Mapping[str, Holds]: ...
    def hold_writes(
        self, store_id: str, ticket_code: str, quantities: Mapping[str, int], until: str, read: Any
    ) -> list[dict[str, Any]]: ...


class Tickets(Protocol):
    def put_write(self, ticket: OfferTicket) -> dict[str, Any]: ...


class Offers(Protocol):
    def get(self, cart_id: str, episode: int) -> OfferRecord | None: ...
    def cap(self, profile_id: str) -> Cap: ...
    def record(
        self,
        record: OfferRecord,
        expires_at: int,
        *,
        cap: Cap | None = None,
        keep_since: datetime | None = None,
        message: OutboundMessage | None = None,
        ticket: dict[str, Any] | None = None,
        holds: Sequence[dict[str, Any]] = (),
    ) -> bool: ...
    def mark_published(self, cart_id: str, episode: int) -> None: ...


class Outbox(Protocol):
    def get(self, message_id: str) -> OutboundMessage | None: ...


@dataclass(frozen=True)
class Handled:
    outcome: str
    reason: str
    duplicate: bool = False
    message_id: str | None = None
    ticket_code: str | None = None
    decision: Decision | None = None


def origin_from_traits(traits: Mapping[str, Any]) -> Point | None:
    """The customer's last known position from the profile traits (None when there is none or it is invalid)."""
    candidates: list[Any] = [traits.get("last_location"), traits.get("location"), traits]
    for candidate in candidates:
        if not isinstance(candidate, Mapping):
            continue
        lat = candidate.get("lat", candidate.get("latitude"))
        lon = candidate.get("lon", candidate.get("longitude"))
        try:
            return Point(float(lat), float(lon))
        except (TypeError, ValueError):
            continue
    return None


def lines_of(event: CartAbandoned) -> list[Line]:
    return [Line(line.sku or line.product_id, line.quantity) for line in event.lines]


@dataclass
class OfferService:
    offers: Offers
    outbox: Outbox
    customers: Customers
    catalog: Catalog
    tickets: Tickets
    publisher: EventPublisher
    clock: Callable[[], datetime]
    policy: Policy
    cap_changed: type[Exception]  # the cap, the store's holds or the ticket's code changed: decide again
    code_taken: type[Exception] | None = None  # (a kind of cap_changed) the drawn code is another ticket's
    ticket_ttl: timedelta = timedelta(hours=48)
    keep: timedelta = timedelta(days=90)  # decisions, caps and messages expire (TTL) after this
    sleep: Callable[[float], None] = field(default=time.sleep)
    codes: Callable[[], str] = field(default=new_code)  # the ticket's code (drawn here; handoff stores it)

    def gather(self, event: CartAbandoned, profile_id: str | None) -> Facts:
        return self._gather(event, profile_id, self.clock())[0]

    def _gather(self, event: CartAbandoned, profile_id: str | None, now: datetime) -> tuple[Facts, Mapping[str, Holds]]:
        """The facts a decision needs, and the stock holds read (their revision guards the hold an offer writes)."""
        lines = lines_of(event)
        customer = self.customers.facts(profile_id) if profile_id else None
        if customer is None:
            return Facts(profile_id=None, lines=lines), {}
        traits = customer.traits
        home_id = traits.get("home_store_id")
        home = self.catalog.get(str(home_id)) if isinstance(home_id, str | int) and str(home_id) else None
        origin = home.location if home is not None else origin_from_traits(traits)
        cap = self.offers.cap(customer.profile_id)
        recent = [datetime.fromisoformat(at) for at in cap.offered_at]
        stores: list[Store] = []
        stock: dict[str, dict[str, int]] = {}
        holds: Mapping[str, Holds] = {}
        if origin is not None:
            stores = [store for store, _ in self.catalog.near(origin, self.policy.radius_km)]
            if stores and lines:
                store_ids = [store.store_id for store in stores]
                on_hand = self.catalog.stock(store_ids, [line.sku for line in lines])
                # What another offer holds until its ticket ends cannot be promised again.
                holds = self.catalog.holds([store_id for store_id in store_ids if store_id in on_hand], utc_iso(now))
                stock = {
                    store_id: {
                        sku: max(0, quantity - (holds[store_id].held.get(sku, 0) if store_id in holds else 0))
                        for sku, quantity in quantities.items()
                    }
                    for store_id, quantities in on_hand.items()
                }
        preferred = traits.get("preferred_channel")
        zone = traits.get("time_zone") or traits.get("timezone")
        return Facts(
            profile_id=customer.profile_id,
            lines=lines,
            addresses=addresses(customer),
            consent=consent_signals(customer),
            preferred_channel=preferred if isinstance(preferred, str) else None,
            time_zone=zone if isinstance(zone, str) else None,
            recent_offers=recent,
            origin=origin,
            stores=stores,
            stock=stock,
        ), holds

    def handle(self, event: CartAbandoned) -> Handled:
        existing = self.offers.get(event.cart_id, event.episode)
        if existing is not None:
            return self._again(existing)
        profile_id = self.customers.profile_of(event.profile_id, event.anonymous_id)
        ticket: OfferTicket | None = None  # kept across a cap conflict (a new code only if this one is taken)
        for _attempt in attempts(MAX_ATTEMPTS, base=0.02, cap=0.5, sleep=self.sleep):
            now = self.clock()
            facts, holds = self._gather(event, profile_id, now)
            decision = decide(facts, self.policy, now)
            record = OfferRecord(
                cart_id=event.cart_id,
                episode=event.episode,
                event_id=event.event_id,
                decided_at=utc_iso(now),
                outcome=decision.outcome.value,
                reason=decision.reason,
                profile_id=facts.profile_id,
                channel=decision.channel.value if decision.channel else None,
                store_id=decision.store.store_id if decision.store else None,
                distance_km=decision.distance_km,
                send_at=utc_iso(decision.send_at) if decision.send_at else None,
            )
            expires_at = int((now + self.keep).timestamp())
            if not decision.outcome.sends:
                if not self.offers.record(record, expires_at):
                    return self._again(self.offers.get(event.cart_id, event.episode))
                return Handled(decision.outcome.value, decision.reason, decision=decision)
            assert facts.profile_id is not None
            assert decision.store is not None
            if ticket is None or ticket.store_id != decision.store.store_id:
                ticket = self._ticket(event, facts.profile_id, decision, now)
            message = self._message(event, facts.profile_id, decision, ticket, now)
            record = replace(record, message_id=message.message_id, ticket_code=ticket.code)
            held: dict[str, int] = {}
            for line in facts.lines:
                held[line.sku] = held.get(line.sku, 0) + line.quantity
            store_id = decision.store.store_id
            try:
                recorded = self.offers.record(
                    record,
                    expires_at,
                    cap=self.offers.cap(facts.profile_id),
                    keep_since=now - self.policy.cap.window,
                    message=message,
                    ticket=self.tickets.put_write(ticket),
                    holds=self.catalog.hold_writes(
                        store_id, ticket.code, held, utc_iso(ticket.expires_at), holds.get(store_id)
                    ),
                )
            except self.cap_changed as changed:
                if self.code_taken is not None and isinstance(changed, self.code_taken):
                    ticket = None  # another offer's ticket has this code: draw a new one
                continue
            if not recorded:
                return self._again(self.offers.get(event.cart_id, event.episode))
            self._publish(message, event.cart_id, event.episode)
            return Handled(
                decision.outcome.value,
                decision.reason,
                message_id=message.message_id,
                ticket_code=ticket.code,
                decision=decision,
            )
        raise RetriesExhausted(f"the offer cap kept changing for {MAX_ATTEMPTS} attempts")

    def _again(self, existing: OfferRecord | None) -> Handled:
        """A cart episode decided before: publish its request if that did not happen, send nothing new."""
        if existing is None:
            raise RuntimeError("the decision vanished")
        if existing.message_id and not existing.published:
            message = self.outbox.get(existing.message_id)
            if message is not None:
                self._publish(message, existing.cart_id, existing.episode)
        return Handled(
            existing.outcome,
            existing.reason,
            duplicate=True,
            message_id=existing.message_id,
            ticket_code=existing.ticket_code,
        )

    def _ticket(self, event: CartAbandoned, profile_id: str, decision: Decision, now: datetime) -> OfferTicket:
        assert decision.store is not None
        assert decision.send_at is not None
        return OfferTicket(
            code=self.codes(),
            profile_id=profile_id,
            from_channel=(event.last_channel.value if event.last_channel else "web"),
            reason=OFFER_REASON,
            created_at=now,
            expires_at=now + self.ticket_ttl + max(timedelta(0), decision.send_at - now),
            note=f"cart {event.cart_id}, episode {event.episode}",
            store_id=decision.store.store_id,
            cart_snapshot={
                "cart_id": event.cart_id,
                "episode": event.episode,
                "currency": event.currency,
                "value": str(event.value),
                "lines": [
                    {"sku": line.sku or line.product_id, "name": line.name, "quantity": line.quantity}
                    for line in event.lines
                ],
            },
        )

    def _message(
        self, event: CartAbandoned, profile_id: str, decision: Decision, ticket: OfferTicket, now: datetime
    ) -> OutboundMessage:
        assert decision.channel is not None
        assert decision.to is not None
        assert decision.store is not None
        assert decision.send_at is not None
        zone = zone_of(decision.time_zone, self.policy.business_zone)
        names = [line.name or line.sku or line.product_id for line in event.lines]
        return OutboundMessage(
            message_id=handoff_event_id("store-offer", event.cart_id, str(event.episode)),
            profile_id=profile_id,
            channel=decision.channel,
            to=decision.to,
            template=OFFER_TEMPLATE,
            variables={
                "product": ", ".join(names),
                "store_name": decision.store.name,
                "distance_km": f"{decision.distance_km:.1f}",
                "code": display_code(ticket.code),
                "valid_until": ticket.expires_at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
            },
            reason=OFFER_REASON,
            ticket_code=ticket.code,
            requested_at=utc_iso(now),
            due_at=utc_iso(decision.send_at),
        )

    def _publish(self, message: OutboundMessage, cart_id: str, episode: int) -> None:
        """``message.requested``, then the decision is marked published."""
        request = OutboundMessageRequested(
            event_id=handoff_event_id(HandoffEventType.MESSAGE_REQUESTED.value, message.message_id),
            occurred_at=datetime.fromisoformat(message.requested_at),
            message_id=message.message_id,
            profile_id=message.profile_id,
            channel=message.channel,
            to=message.to,
            template=message.template,
            variables=message.variables,
            ticket_code=message.ticket_code,
            reason=message.reason,
        )
        # The ticket's request to handoff (ticket.requested) is the offer ticket's own announcement (the stream)
        events = [
            BusEvent(
                event_id=request.event_id,
                source=HANDOFF_SOURCE,
                detail_type=HandoffEventType.MESSAGE_REQUESTED.value,
                detail=request.model_dump(mode="json"),
            )
        ]
        result = self.publisher.publish(events)
        if result.failed:  # the decision stands unpublished: the redelivered cart.abandoned publishes it (_again)
            raise RetriesExhausted(f"message.requested was not published: {result.failed}")
        self.offers.mark_published(cart_id, episode)


__all__ = ["CustomerFacts", "Handled", "OfferService", "Outcome", "origin_from_traits"]
