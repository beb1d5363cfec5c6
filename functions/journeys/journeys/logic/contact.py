"""Who may be written to, where and when (pure): consent, addresses, the channel to use, quiet hours, the cap.

The rules are handoff's online-to-store rules (``docs/handoff-outbound.md``), so a customer meets one policy;
quiet hours and the cap are the same code (``omnichannel.contact_rules``):

- **Consent is opt-in per channel**: the newest signal decides (the profile's ``consent`` trait, stamped with
  the time the profile recorded it, and the STOP / START replies this function saw); an opt-out wins a tie; no
  signal is no consent.
- **Addresses**: WhatsApp the ``whatsapp`` id (else the phone), SMS the phone, e-mail the e-mail.
- **Channel**: the step's fixed channel; else the touchpoint's channel (``channel: touchpoint``) when it is a
  messaging channel; then the ``preferred_channel`` trait; then the step's ``channels`` in order. The first that
  has a message in the step, an address and consent is used.
- **Quiet hours** (e.g. ``21:00-09:00``, crossing midnight) in the ``time_zone`` trait (else the business time
  zone): a send inside the window waits until its end on the local wall clock (DST moves it).
- **Frequency cap** (e.g. ``3/7d``): journey messages per customer per window, across all journeys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys.models.definition import MessageChannel
from journeys.models.state import ConsentMark, Profile

CHANNELS = tuple(MessageChannel)
_OPTED_IN = ("opted_in", "true", "yes", "granted")


def zone_of(profile: Profile | None, default: str) -> ZoneInfo:
    name = profile.traits.get("time_zone") if profile is not None else None
    for candidate in (name, default):
        if isinstance(candidate, str) and candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def addresses(profile: Profile | None) -> dict[MessageChannel, str]:
    if profile is None:
        return {}
    ids = profile.identifiers
    whatsapp, phones, emails = ids.get("whatsapp") or [], ids.get("phone") or [], ids.get("email") or []
    found: dict[MessageChannel, str] = {}
    if whatsapp:
        found[MessageChannel.WHATSAPP] = "+" + whatsapp[0].lstrip("+")
    elif phones:
        found[MessageChannel.WHATSAPP] = phones[0]
    if phones:
        found[MessageChannel.SMS] = phones[0]
    if emails:
        found[MessageChannel.EMAIL] = emails[0]
    return found


def consent(profile: Profile | None, marks: Mapping[str, ConsentMark]) -> dict[MessageChannel, bool]:
    """Per channel with any signal: whether the newest says opted in (an opt-out wins a tie)."""
    signals: dict[MessageChannel, list[tuple[str, bool]]] = {}
    stated: Any = profile.traits.get("consent") if profile is not None else None
    if isinstance(stated, Mapping) and profile is not None:
        at = profile.trait_times.get("consent", "")
        for name, value in stated.items():
            if str(name).lower() in MessageChannel.__members__.values():
                opted_in = value is True or str(value).lower() in _OPTED_IN
                signals.setdefault(MessageChannel(str(name).lower()), []).append((at, opted_in))
    for name, mark in marks.items():
        if name in MessageChannel.__members__.values():
            signals.setdefault(MessageChannel(name), []).append((mark.at, mark.opted_in))
    return {channel: max(found, key=lambda entry: (entry[0], not entry[1]))[1] for channel, found in signals.items()}


@dataclass(frozen=True)
class Reach:
    addresses: dict[MessageChannel, str]
    consent: dict[MessageChannel, bool]
    preferred: MessageChannel | None

    def reachable(self, channel: MessageChannel) -> bool:
        return channel in self.addresses and self.consent.get(channel, False)

    def any_reachable(self) -> bool:
        return any(self.reachable(channel) for channel in CHANNELS)


def reach(profile: Profile | None, marks: Mapping[str, ConsentMark]) -> Reach:
    preferred: Any = profile.traits.get("preferred_channel") if profile is not None else None
    choice = str(preferred).lower() if isinstance(preferred, str) else None
    return Reach(
        addresses(profile),
        consent(profile, marks),
        MessageChannel(choice) if choice is not None and choice in MessageChannel.__members__.values() else None,
    )


def channel_order(
    choice: str, allowed: Sequence[MessageChannel], touchpoint: str | None, preferred: MessageChannel | None
) -> list[MessageChannel]:
    """The channels to try, in order, for a step's ``channel`` choice."""
    if choice in MessageChannel.__members__.values():
        return [MessageChannel(choice)] if MessageChannel(choice) in allowed else []
    order: list[MessageChannel] = []
    if choice == "touchpoint" and touchpoint in MessageChannel.__members__.values():
        order.append(MessageChannel(str(touchpoint)))
    if preferred is not None:
        order.append(preferred)
    order += list(allowed)
    seen: list[MessageChannel] = []
    for channel in order:
        if channel in allowed and channel not in seen:
            seen.append(channel)
    return seen
