"""What every webhook mapping takes and gives back, and the small readers for loosely-typed provider JSON.

Provider payloads evolve (new message types, new fields), so they are read leniently: an unknown or malformed
part is counted as ignored, never a reason to refuse a correctly signed request (the provider would retry it
forever). Our own POS contract is the exception: it is validated strictly (capture/models/pos.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from capture.logic.capture_service import IncomingEvent
from capture.logic.event_builder import DroppedIdentifier, IdentifierCollector


@dataclass(frozen=True)
class MappingContext:
    """What a mapping needs to know besides the payload."""

    received_at: datetime
    default_region: str = "TR"


@dataclass
class Mapped:
    """The events a payload maps to, and how much of it was deliberately left out."""

    events: list[IncomingEvent] = field(default_factory=list)
    ignored: int = 0
    dropped_identifiers: list[DroppedIdentifier] = field(default_factory=list)

    def extend(self, other: Mapped) -> None:
        self.events.extend(other.events)
        self.ignored += other.ignored
        self.dropped_identifiers.extend(other.dropped_identifiers)

    def add(self, result: tuple[IncomingEvent, IdentifierCollector] | None) -> None:
        """One mapped item: its event and the identifiers it had to drop, or None for an item left out."""
        if result is None:
            self.ignored += 1
            return
        incoming, identifiers = result
        self.events.append(incoming)
        self.dropped_identifiers.extend(identifiers.dropped)


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_dicts(value: object) -> list[dict[str, Any]]:
    """The objects of a JSON array; anything else in it (or a non-array) is skipped."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def as_text(value: object) -> str | None:
    """A non-empty string (numbers become their decimal text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def raw_json(value: Any) -> str:
    """The part of a payload an event was made from, kept as compact JSON for audit and replay."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
