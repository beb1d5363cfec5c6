"""The profile as the domain sees it: identifiers, how each was linked (verified components), traits with their
provenance, the groups the person belongs to, first touch, merge pointers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from omnichannel.identifiers import IdentifierType

IdentifierSets = dict[IdentifierType, set[str]]
Identifier = tuple[IdentifierType, str]
# Types that say which device or browser, not who: linking them to a person says little about the person.
DEVICE_TYPES = frozenset({IdentifierType.ANONYMOUS_ID, IdentifierType.DEVICE_ID})


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
    # Stated by an event that carried an identifier tied to the customer id by verified links (or the customer id
    # itself): what the customer's own token may read back. A trait merged in from an anonymous visit is not.
    own: bool = False

    def to_item(self) -> dict[str, str]:
        item = {
            "v": json.dumps(self.value, separators=(",", ":"), sort_keys=True, default=str),
            "at": self.stamp.occurred_at,
            "e": self.stamp.event_id,
            "c": self.channel,
        }
        if self.own:
            item["o"] = "1"
        return item

    @classmethod
    def from_item(cls, item: dict[str, str]) -> TraitValue:
        return cls(json.loads(item["v"]), Stamp(item["at"], item["e"]), item["c"], item.get("o") == "1")


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


@dataclass(frozen=True)
class GroupMembership:
    """A Segment ``group`` call: the account, company or household the person belongs to, with that group's
    traits (latest wins). Group traits describe the group, never the person."""

    traits: dict[str, Any]
    stamp: Stamp
    own: bool = False  # stated by the customer's own (anchored) identifiers, as for TraitValue

    def to_item(self) -> dict[str, Any]:
        return {"t": self.traits, "at": self.stamp.occurred_at, "e": self.stamp.event_id, "o": self.own}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> GroupMembership:
        return cls(dict(item.get("t") or {}), Stamp(item["at"], item["e"]), bool(item.get("o")))


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
    # Verified components: identifiers a verified source (signed webhook, POS, server key, customer token) saw
    # together carry the same label. An identifier without a label was only ever asserted (client write keys).
    links: dict[Identifier, str] = field(default_factory=dict)
    groups: dict[str, GroupMembership] = field(default_factory=dict)
    # Each merged profile's timeline partition and the latest time it can hold (it is frozen once merged).
    merged_spans: dict[str, str] = field(default_factory=dict)

    @property
    def age_key(self) -> tuple[str, str]:
        """The merge survivor is the oldest profile; ties by id."""
        return (self.created_at, self.profile_id)

    def identifier_pairs(self) -> set[tuple[IdentifierType, str]]:
        return {(kind, value) for kind, values in self.identifiers.items() for value in values}

    @property
    def customer_id(self) -> str | None:
        """The customer id (``user_id``) the profile holds, if any: at most one (the limit)."""
        values = self.identifiers.get(IdentifierType.USER_ID)
        return min(values) if values else None

    def bears_identity(self, members: set[Identifier] | None = None) -> bool:
        """Whether the profile (or ``members`` of it) holds anything beyond device and browser ids."""
        pairs = self.identifier_pairs() if members is None else members
        return any(kind not in DEVICE_TYPES for kind, _ in pairs)

    def component_of(self, identifier: Identifier) -> set[Identifier]:
        """``identifier`` and everything a verified source linked to it, through any chain of verified events."""
        label = self.links.get(identifier)
        if label is None:
            return {identifier}
        return {other for other, other_label in self.links.items() if other_label == label} | {identifier}

    def anchored(self) -> set[Identifier]:
        """What the customer holding this profile's ``user_id`` may see as theirs: the customer id and whatever is
        linked to it through verified links only. Empty for a profile without a customer id."""
        customer = self.customer_id
        if customer is None:
            return set()
        return self.component_of((IdentifierType.USER_ID, customer)) & self.identifier_pairs()
