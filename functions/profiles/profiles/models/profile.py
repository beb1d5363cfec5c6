"""The profile as the domain sees it: identifiers, traits with their provenance, first touch, merge pointers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from omnichannel.identifiers import IdentifierType

IdentifierSets = dict[IdentifierType, set[str]]


@dataclass(frozen=True, order=True)
class Stamp:
    """When a value was true, and which event said so. Ordered by time, then event id: a total order, so the
    winner never depends on the order events arrive in."""

    occurred_at: str  # ISO 8601 UTC with milliseconds: sorts as text
    event_id: str


@dataclass(frozen=True)
class TraitValue:
    value: Any
    stamp: Stamp
    channel: str

    def to_item(self) -> dict[str, str]:
        return {
            "v": json.dumps(self.value, separators=(",", ":"), sort_keys=True, default=str),
            "at": self.stamp.occurred_at,
            "e": self.stamp.event_id,
            "c": self.channel,
        }

    @classmethod
    def from_item(cls, item: dict[str, str]) -> TraitValue:
        return cls(json.loads(item["v"]), Stamp(item["at"], item["e"]), item["c"])


@dataclass(frozen=True)
class FirstTouch:
    """The earliest event of the customer: acquisition channel and campaign, first seen."""

    stamp: Stamp
    channel: str
    source: str
    campaign: dict[str, str] = field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        return {
            "at": self.stamp.occurred_at,
            "e": self.stamp.event_id,
            "c": self.channel,
            "s": self.source,
            "campaign": dict(self.campaign),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FirstTouch:
        return cls(Stamp(item["at"], item["e"]), item["c"], item["s"], dict(item.get("campaign") or {}))


@dataclass
class Profile:
    profile_id: str
    version: int
    created_at: str
    identifiers: IdentifierSets = field(default_factory=dict)
    traits: dict[str, TraitValue] = field(default_factory=dict)
    first_touch: FirstTouch | None = None
    last_seen: Stamp | None = None
    channels: set[str] = field(default_factory=set)
    merged_into: str | None = None
    merged_ids: set[str] = field(default_factory=set)
    # Profiles an admin split from this one: never merged with it again automatically.
    split_from: set[str] = field(default_factory=set)

    @property
    def age_key(self) -> tuple[str, str]:
        """The merge survivor is the oldest profile; ties by id."""
        return (self.created_at, self.profile_id)

    def identifier_pairs(self) -> set[tuple[IdentifierType, str]]:
        return {(kind, value) for kind, values in self.identifiers.items() for value in values}
