"""Online to store: what to do about an abandoned cart (pure; no boto3, no clock of its own).

Given the facts the offer service gathers (the customer's profile, consent signals, recent offers, where they
are, the stores near them and those stores' stock), ``decide`` answers one ``Decision``:

1. no profile behind the cart → ``no_profile`` (an anonymous device cannot be messaged);
2. no channel that has both consent and an address (WhatsApp > SMS > e-mail, or the ``preferred_channel``
   trait first) → ``no_consent``;
3. the frequency cap (e.g. 1 offer per 7 days per profile) is reached → ``capped``;
4. no home store and no last known location → ``no_location``;
5. no store within the radius holds every line's quantity → ``no_stock``;
6. otherwise the nearest such store is offered, now (``sent``) or, inside the quiet hours of the customer's
   time zone, at the end of the quiet window (``deferred``).

Consent is opt-in: a channel counts only when its newest consent signal (the ``consent`` trait, or an SMS or
WhatsApp ``START``/``STOP`` on a conversation) says opted in; on a tie an opt-out wins
(``omnichannel.reachability``, the rules the agent context shows too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.handoff_events import OutboundChannel
from omnichannel.reachability import DEFAULT_CHANNEL_ORDER as DEFAULT_CHANNEL_ORDER
from omnichannel.reachability import ConsentSignal as ConsentSignal
from omnichannel.reachability import channel_order as channel_order
from omnichannel.reachability import consented as consented
from outbound.store_offers.geo import Point, haversine_km


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    NO_PROFILE = "no_profile"
    NO_CONSENT = "no_consent"
    CAPPED = "capped"
    NO_LOCATION = "no_location"
    NO_STOCK = "no_stock"

    @property
    def sends(self) -> bool:
        return self in (Outcome.SENT, Outcome.DEFERRED)


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    location: Point
    time_zone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Policy:
    radius_km: float
    cap: FrequencyCap
    business_zone: str
    quiet_hours: QuietHours | None = None
    channel_order: tuple[OutboundChannel, ...] = DEFAULT_CHANNEL_ORDER


@dataclass(frozen=True)
class Facts:
    profile_id: str | None
    lines: Sequence[Line]
    addresses: Mapping[OutboundChannel, str] = field(default_factory=dict)
    consent: Sequence[ConsentSignal] = ()
    preferred_channel: str | None = None
    time_zone: str | None = None
    recent_offers: Sequence[datetime] = ()
    origin: Point | None = None
    stores: Sequence[Store] = ()
    stock: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # store_id -> sku -> quantity


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    channel: OutboundChannel | None = None
    to: str | None = None
    store: Store | None = None
    distance_km: float | None = None
    send_at: datetime | None = None
    time_zone: str | None = None


def zone_of(name: str | None, default: str) -> ZoneInfo:
    """The customer's zone if it is a known IANA name, else the business zone."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def parse_channels(text: str) -> tuple[OutboundChannel, ...]:
    """``"whatsapp,sms,email"`` (the OfferChannels parameter): the channels offers may use, in order of preference."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    known = {channel.value for channel in OutboundChannel}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(
            f"offer channels: {', '.join(unknown) or 'none given'}; choose from {', '.join(sorted(known))}"
        )
    return tuple(dict.fromkeys(OutboundChannel(name) for name in names))


def choose_channel(facts: Facts, policy: Policy) -> tuple[OutboundChannel, str] | None:
    for channel in channel_order(facts.preferred_channel, policy.channel_order):
        address = facts.addresses.get(channel)
        if address and consented(facts.consent, channel):
            return channel, address
    return None


def in_stock(stock: Mapping[str, int], lines: Sequence[Line]) -> bool:
    needed: dict[str, int] = {}
    for line in lines:
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    return bool(needed) and all(stock.get(sku, 0) >= quantity for sku, quantity in needed.items())


def nearest_in_stock(facts: Facts, radius_km: float) -> tuple[Store, float] | None:
    """The nearest store within ``radius_km`` of the origin holding every line (ties: the smaller store id)."""
    if facts.origin is None:
        return None
    origin = facts.origin
    ranked = sorted(
        ((haversine_km(origin, store.location), store.store_id, store) for store in facts.stores),
        key=lambda entry: (entry[0], entry[1]),
    )
    for distance, store_id, store in ranked:
        if distance <= radius_km and in_stock(facts.stock.get(store_id, {}), facts.lines):
            return store, distance
    return None


def decide(facts: Facts, policy: Policy, now: datetime) -> Decision:
    if facts.profile_id is None:
        return Decision(Outcome.NO_PROFILE, "the cart belongs to no known profile")
    chosen = choose_channel(facts, policy)
    if chosen is None:
        asked = ", ".join(channel.value for channel in channel_order(facts.preferred_channel, policy.channel_order))
        return Decision(Outcome.NO_CONSENT, f"no opted-in channel with an address among {asked}")
    channel, to = chosen
    if not policy.cap.allows(facts.recent_offers, now):
        return Decision(
            Outcome.CAPPED,
            f"{policy.cap.count} offer(s) per {policy.cap.window} already made",
            channel=channel,
        )
    if facts.origin is None:
        return Decision(Outcome.NO_LOCATION, "no home store and no last known location", channel=channel)
    found = nearest_in_stock(facts, policy.radius_km)
    if found is None:
        return Decision(
            Outcome.NO_STOCK,
            f"no store within {policy.radius_km:g} km holds every item ({len(facts.stores)} store(s) looked at)",
            channel=channel,
        )
    store, distance = found
    zone = zone_of(facts.time_zone, policy.business_zone)
    later = policy.quiet_hours.send_at(now, zone) if policy.quiet_hours else None
    common: dict[str, Any] = {
        "channel": channel,
        "to": to,
        "store": store,
        "distance_km": round(distance, 2),
        "time_zone": zone.key,
    }
    if later is not None:
        reason = f"quiet hours in {zone.key}: sent at the window's end"
        return Decision(Outcome.DEFERRED, reason, send_at=later, **common)
    return Decision(Outcome.SENT, "in stock nearby", send_at=now, **common)
