"""Who may be written to, and where (pure): consent per channel, the customer's addresses and the channel order.

One definition for the functions that need it: outbound (a store offer picks its channel by these rules) and
handoff (the agent context shows the same consent and reachable channels an offer would see).

- **Consent is opt-in per channel**: the newest signal decides (the profile's ``consent`` trait, stamped with the
  time the profile recorded it, and each SMS or WhatsApp conversation's ``START`` / ``STOP``); an opt-out wins a
  tie; no signal is no consent.
- **Addresses**: WhatsApp the ``whatsapp`` id (else the phone), SMS the phone, e-mail the e-mail.
- **Channel order**: the ``preferred_channel`` trait first, then the configured order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnichannel.canonical_event import Channel
from omnichannel.handoff_events import OutboundChannel
from omnichannel.identifiers import IdentifierType

DEFAULT_CHANNEL_ORDER: tuple[OutboundChannel, ...] = (
    OutboundChannel.WHATSAPP,
    OutboundChannel.SMS,
    OutboundChannel.EMAIL,
)
_OPTED_IN = ("opted_in", "true", "yes", "granted")
_CHANNELS = {
    Channel.WHATSAPP: OutboundChannel.WHATSAPP,
    Channel.SMS: OutboundChannel.SMS,
    Channel.EMAIL: OutboundChannel.EMAIL,
}


@dataclass(frozen=True)
class ConsentSignal:
    """One statement of a channel's consent: ``at`` is an ISO 8601 UTC time (sortable)."""

    channel: OutboundChannel
    opted_in: bool
    at: str
    source: str  # "trait" | "conversation"


@dataclass(frozen=True)
class ConsentReply:
    """A conversation's recorded consent change (a ``START`` or ``STOP`` reply on its channel)."""

    channel: Channel
    opted_in: bool
    at: str


@dataclass(frozen=True)
class CustomerFacts:
    """What writing to a customer needs to know: the profile's identifiers and traits (with the time each trait
    was set) and the consent replies of the customer's conversations."""

    profile_id: str
    identifiers: dict[str, list[str]]
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, str] = field(default_factory=dict)  # trait -> when it was last set (ISO 8601 UTC)
    replies: Sequence[ConsentReply] = ()


def consented(signals: Iterable[ConsentSignal], channel: OutboundChannel) -> bool:
    """Opt-in only: the newest signal for the channel decides; an opt-out wins a tie."""
    newest = max(
        ((signal.at, not signal.opted_in, signal) for signal in signals if signal.channel is channel),
        default=None,
        key=lambda entry: (entry[0], entry[1]),
    )
    return newest is not None and newest[2].opted_in


def channel_order(preferred: str | None, default: Sequence[OutboundChannel]) -> list[OutboundChannel]:
    """``default`` with the customer's preferred channel first; a preferred channel that is not in ``default``
    (switched off, as e-mail is without a sender) is not added."""
    order = list(default)
    if preferred and preferred.lower() in OutboundChannel.__members__.values():
        first = OutboundChannel(preferred.lower())
        if first in order:
            order = [first, *(channel for channel in order if channel is not first)]
    return order


def consent_signals(customer: CustomerFacts) -> list[ConsentSignal]:
    signals: list[ConsentSignal] = []
    stated = customer.traits.get("consent")
    at = customer.trait_times.get("consent", "")
    if isinstance(stated, Mapping):
        for name, value in stated.items():
            if str(name).lower() not in OutboundChannel.__members__.values():
                continue
            opted_in = value is True or str(value).lower() in _OPTED_IN
            signals.append(ConsentSignal(OutboundChannel(str(name).lower()), opted_in, at, "trait"))
    for reply in customer.replies:
        if reply.channel in _CHANNELS:
            signals.append(ConsentSignal(_CHANNELS[reply.channel], reply.opted_in, reply.at, "conversation"))
    return signals


def addresses(customer: CustomerFacts) -> dict[OutboundChannel, str]:
    ids = customer.identifiers
    found: dict[OutboundChannel, str] = {}
    whatsapp = ids.get(IdentifierType.WHATSAPP.value) or []
    phones = ids.get(IdentifierType.PHONE.value) or []
    emails = ids.get(IdentifierType.EMAIL.value) or []
    if whatsapp:
        found[OutboundChannel.WHATSAPP] = "+" + whatsapp[0].lstrip("+")
    elif phones:
        found[OutboundChannel.WHATSAPP] = phones[0]
    if phones:
        found[OutboundChannel.SMS] = phones[0]
    if emails:
        found[OutboundChannel.EMAIL] = emails[0]
    return found


@dataclass(frozen=True)
class Reachability:
    """What the agent context shows about reaching the customer: per channel the consent that stands (a channel
    with no signal is absent: opt-in only), the ``preferred_channel`` trait, and the outbound channels a message
    could go out on now (consented, with an address), in the order an offer would try them."""

    consent: dict[str, str]
    preferred_channel: str | None
    reachable_channels: list[str]


def reachability(customer: CustomerFacts) -> Reachability:
    signals = consent_signals(customer)
    consent = {
        channel.value: ("opted_in" if consented(signals, channel) else "opted_out")
        for channel in {signal.channel for signal in signals}
    }
    preferred = customer.traits.get("preferred_channel")
    preferred_channel = str(preferred).lower() if isinstance(preferred, str) and preferred else None
    known = addresses(customer)
    reachable = [
        channel.value
        for channel in channel_order(preferred_channel, DEFAULT_CHANNEL_ORDER)
        if known.get(channel) and consented(signals, channel)
    ]
    return Reachability(dict(sorted(consent.items())), preferred_channel, reachable)
