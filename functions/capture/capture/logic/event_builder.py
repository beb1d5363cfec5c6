"""Building canonical events from parts: what every producer inside capture (the Segment tracking API and the
channel webhooks) does the same way.

- ``IdentifierCollector`` normalises identifiers with the shared rules (shared/omnichannel/identifiers.py). An
  invalid one is dropped and remembered (type and field only, never the value), it does not refuse the event.
- ``build_event`` derives the stable ``event_id`` from source and message id, so a resent message is the same event.
  A provider's timestamp outside the window every channel keeps (not before 2000, not more than a day after it was
  received) is replaced by the time it was received: a signed provider notification is not refused for its
  clock (the provider would retry it for days), and nothing the consumers cannot date enters the bus.
- ``from_unix`` reads the epoch timestamps providers send (seconds or milliseconds, number or string).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from capture.models.segment import EARLIEST_EVENT, MAX_AHEAD
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.identifiers import IdentifierType, InvalidIdentifier, Provenance, normalize


@dataclass(frozen=True)
class DroppedIdentifier:
    """An identifier left out of an event because it was not valid. Holds no value: safe to log and count."""

    identifier_type: IdentifierType
    field: str
    reason: str


@dataclass
class IdentifierCollector:
    """Collects normalised identifiers; the first valid value of each type wins."""

    default_region: str = "TR"
    found: dict[IdentifierType, str] = field(default_factory=dict)
    dropped: list[DroppedIdentifier] = field(default_factory=list)

    def add(
        self,
        identifier_type: IdentifierType,
        value: object,
        field_name: str = "",
        *,
        normalizer: Callable[[str], str] | None = None,
    ) -> None:
        """Add ``value`` as ``identifier_type`` unless it is absent, invalid, or the type is already known.

        ``normalizer`` replaces the standard rule (e.g. ``whatsapp_id_to_phone`` reads a wa_id as a phone number).
        """
        if value is None or identifier_type in self.found:
            return
        try:
            if normalizer is not None:
                if not isinstance(value, str):
                    raise InvalidIdentifier(identifier_type, "must be a string")
                normalized = normalizer(value)
            else:
                normalized = normalize(identifier_type, value, default_region=self.default_region)
        except InvalidIdentifier as exc:
            self.dropped.append(DroppedIdentifier(identifier_type, field_name or identifier_type.value, exc.reason))
            return
        self.found[identifier_type] = normalized


def build_event(
    *,
    source: str,
    message_id: str,
    event_type: EventType,
    channel: Channel,
    received_at: datetime,
    occurred_at: datetime | None = None,
    name: str | None = None,
    identifiers: Mapping[IdentifierType, str] | None = None,
    properties: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    provenance: Provenance = Provenance.VERIFIED,
) -> CanonicalEvent:
    """A canonical event whose ``event_id`` is ``event_id_for(source, message_id)``: resending it changes nothing.

    Its identifiers are ``verified`` by default: every caller is a channel webhook, whose request is signed by
    the provider (or the store) and whose identifiers are the provider's own (the number Meta says wrote)."""
    if occurred_at is not None and not EARLIEST_EVENT <= occurred_at <= received_at + MAX_AHEAD:
        occurred_at = None
    return CanonicalEvent(
        event_id=event_id_for(source, message_id),
        message_id=message_id,
        source=source,
        type=event_type,
        name=name,
        channel=channel,
        identifiers=dict(identifiers or {}),
        provenance=provenance,
        occurred_at=occurred_at or received_at,
        received_at=received_at,
        properties={key: value for key, value in (properties or {}).items() if value is not None},
        traits=dict(traits or {}),
        context=dict(context or {}),
    )


# Epoch values above this are milliseconds (it is the year 33658 in seconds).
_MILLISECONDS_THRESHOLD = 10**12
# ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and other scripts' digits.
_EPOCH_DIGITS = re.compile(r"[0-9]{1,16}")


def from_unix(value: object) -> datetime | None:
    """An epoch timestamp in seconds or milliseconds (number or digit string) as UTC; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _EPOCH_DIGITS.fullmatch(text):
            return None
        number = int(text)
    elif isinstance(value, int):
        number = value
    else:
        return None
    if number <= 0:
        return None
    seconds, milliseconds = divmod(number, 1000) if number >= _MILLISECONDS_THRESHOLD else (number, 0)
    try:
        return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=milliseconds)
    except (OverflowError, OSError, ValueError):
        return None
