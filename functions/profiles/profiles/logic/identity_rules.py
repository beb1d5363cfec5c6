"""The merge rules: which identifier types weigh most, how many of each one profile may hold, and which values
never link anything.

Like Segment Unify's identity resolution settings: identifiers are taken in priority order, and one that would
bring a profile over a type's limit (a second customer id, a sixth e-mail) is not linked; the conflict is
recorded. Because the customer id limit is one, two profiles that each hold a different customer id are never
merged (a family tablet, a store kiosk): each stays, and the shared device stays with the profile it met first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from omnichannel.identifiers import LINK_BLOCKED_PATTERNS, LINK_BLOCKLIST, IdentifierType

Identifier = tuple[IdentifierType, str]

# Highest first: a customer id outranks an e-mail, which outranks a device.
DEFAULT_PRIORITY: tuple[IdentifierType, ...] = (
    IdentifierType.USER_ID,
    IdentifierType.EMAIL,
    IdentifierType.PHONE,
    IdentifierType.LOYALTY_CARD,
    IdentifierType.POS_CUSTOMER,
    IdentifierType.WHATSAPP,
    IdentifierType.MESSENGER,
    IdentifierType.INSTAGRAM,
    IdentifierType.DEVICE_ID,
    IdentifierType.ANONYMOUS_ID,
)

# Values per profile. A household may share a tablet, so devices are many; a customer id is one.
DEFAULT_LIMITS: Mapping[IdentifierType, int] = {
    IdentifierType.USER_ID: 1,
    IdentifierType.EMAIL: 5,
    IdentifierType.PHONE: 5,
    IdentifierType.LOYALTY_CARD: 3,
    IdentifierType.POS_CUSTOMER: 5,
    IdentifierType.WHATSAPP: 3,
    IdentifierType.MESSENGER: 3,
    IdentifierType.INSTAGRAM: 3,
    IdentifierType.DEVICE_ID: 50,
    IdentifierType.ANONYMOUS_ID: 500,
}

# Values that never link anything: the shared list (omnichannel.identifiers), which this deployment may extend.
DEFAULT_BLOCKLIST: Mapping[IdentifierType, frozenset[str]] = LINK_BLOCKLIST
DEFAULT_BLOCKED_PATTERNS: Mapping[IdentifierType, tuple[str, ...]] = LINK_BLOCKED_PATTERNS
# A value that more than this many profiles tried to link and could not (a store kiosk's device, a family tablet
# passed round a class, a test e-mail typed by everyone) is blocked automatically and reported to staff.
DEFAULT_AUTOBLOCK_AFTER = 10


@dataclass(frozen=True)
class IdentityRules:
    priority: tuple[IdentifierType, ...] = DEFAULT_PRIORITY
    limits: Mapping[IdentifierType, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    blocklist: Mapping[IdentifierType, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_BLOCKLIST))
    blocked_patterns: Mapping[IdentifierType, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_BLOCKED_PATTERNS)
    )
    autoblock_after: int = DEFAULT_AUTOBLOCK_AFTER

    def rank(self, kind: IdentifierType) -> int:
        try:
            return self.priority.index(kind)
        except ValueError:
            return len(self.priority)

    def ordered(self, identifiers: Iterable[Identifier]) -> list[Identifier]:
        """Highest priority first; within a type by value, so the order never depends on the input's."""
        return sorted(set(identifiers), key=lambda item: (self.rank(item[0]), item[1]))

    def is_blocked(self, kind: IdentifierType, value: str) -> bool:
        if value in self.blocklist.get(kind, frozenset()):
            return True
        return any(re.search(pattern, value) for pattern in self.blocked_patterns.get(kind, ()))

    def limit(self, kind: IdentifierType) -> int:
        return self.limits.get(kind, 1_000)

    def violated_limit(self, identifiers: Mapping[IdentifierType, Iterable[str]]) -> IdentifierType | None:
        """The first type (by priority) of which ``identifiers`` hold more values than its limit, if any."""
        for kind in sorted(identifiers, key=self.rank):
            if len(set(identifiers[kind])) > self.limit(kind):
                return kind
        return None

    @classmethod
    def from_settings(
        cls, limits_json: str = "", blocklist_json: str = "", autoblock_after: int = DEFAULT_AUTOBLOCK_AFTER
    ) -> IdentityRules:
        """Rules with overrides: ``{"email": 3}`` for limits, ``{"email": ["shop@brand.com"]}`` for the blocklist."""
        limits = dict(DEFAULT_LIMITS)
        for name, value in (json.loads(limits_json) if limits_json else {}).items():
            limit = int(value)
            if limit < 1:
                raise ValueError(f"identity limit of {name} must be at least 1")
            limits[IdentifierType(name)] = limit
        blocklist = dict(DEFAULT_BLOCKLIST)
        for name, values in (json.loads(blocklist_json) if blocklist_json else {}).items():
            kind = IdentifierType(name)
            blocklist[kind] = blocklist.get(kind, frozenset()) | frozenset(str(value) for value in values)
        return cls(limits=limits, blocklist=blocklist, autoblock_after=autoblock_after)
