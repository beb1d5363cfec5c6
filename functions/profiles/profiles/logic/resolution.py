"""Identity resolution of one event: which profile its identifiers belong to, and what has to change.

Pure: the data layer reads who owns each identifier (following merge pointers to the survivor) and those
profiles, this decides, the data layer writes the decision in one transaction conditioned on the versions it
read. The rule, identifier by identifier in priority order (``IdentityRules``):

1. The first identifier's profile (or, if nobody holds it, a new one) starts the group.
2. Each next identifier joins with its whole profile, unless the union would hold more values of a type than
   the type's limit, or an admin split the two apart: then it is skipped and the conflict recorded.
3. One profile in the group: attach the new identifiers. Several: merge them into the oldest (ties by id).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType
from profiles.logic.identity_rules import Identifier, IdentityRules
from profiles.logic.traits import (
    absorb,
    first_touch_of,
    fold_first_touch,
    fold_last_seen,
    fold_traits,
    observed_traits,
    stamp_of,
)
from profiles.models.profile import Profile

PROFILE_ID_NAMESPACE = uuid.UUID("d7f0f5a4-0c55-4a53-9a3f-6b2c1f0e8d21")
# last_seen moves with every event; writing it each time would cost a write per page view. It is written when
# anything else changes, or when it moved on by this much (the timeline has every event exactly).
LAST_SEEN_STEP_SECONDS = 15 * 60


def event_identifiers(event: CanonicalEvent) -> list[Identifier]:
    """The identifiers an event shows; an alias call's ``previous_id`` is the anonymous id being linked."""
    found = [(IdentifierType(kind), value) for kind, value in event.identifiers.items()]
    if event.previous_id and (IdentifierType.ANONYMOUS_ID, event.previous_id) not in found:
        found.append((IdentifierType.ANONYMOUS_ID, event.previous_id))
    return found


@dataclass(frozen=True)
class Conflict:
    identifier: Identifier
    reason: str  # "limit:<type>" or "split"


@dataclass
class Plan:
    """What resolving one event changes. ``survivor`` is the profile after the change (a new one if ``created``)."""

    event_id: str
    survivor: Profile
    created: bool
    base_version: int | None  # the survivor's version as read (None when created)
    merged: list[Profile] = field(default_factory=list)  # as read, before becoming pointers
    new_identifiers: list[Identifier] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    blocked: list[Identifier] = field(default_factory=list)
    changed_traits: list[str] = field(default_factory=list)
    rule: str = ""  # the identifier type that linked the merged profiles
    touched: bool = False  # first touch, channels or last seen moved
    survivor_before: Profile | None = None  # the survivor as read, when profiles merge

    @property
    def needs_write(self) -> bool:
        return bool(
            self.created or self.merged or self.new_identifiers or self.conflicts or self.changed_traits or self.touched
        )


def new_profile_id(event_id: str) -> str:
    """The id of a profile an event creates: stable, so a retried creation is the same profile."""
    return str(uuid.uuid5(PROFILE_ID_NAMESPACE, event_id))


def plan_resolution(
    event: CanonicalEvent,
    owners: Mapping[Identifier, str],
    profiles: Mapping[str, Profile],
    rules: IdentityRules,
    *,
    now_iso: str,
) -> Plan | None:
    """The change resolving ``event`` makes. ``owners`` maps known identifiers to their (root) profile id,
    ``profiles`` holds those root profiles. ``None`` when the event carries no usable identifier."""
    wanted = rules.ordered(event_identifiers(event))
    blocked = [item for item in wanted if rules.is_blocked(*item)]
    usable = [item for item in wanted if item not in blocked]
    if not usable:
        return None

    group_roots: list[str] = []
    group_ids: dict[IdentifierType, set[str]] = {}
    new_identifiers: list[Identifier] = []
    conflicts: list[Conflict] = []
    link_rule = ""
    split: set[str] = set()
    for identifier in usable:
        root = owners.get(identifier)
        if root is not None and root in group_roots:
            continue
        incoming: dict[IdentifierType, set[str]] = (
            {kind: set(values) for kind, values in profiles[root].identifiers.items()}
            if root is not None
            else {identifier[0]: {identifier[1]}}
        )
        union = {kind: set(values) for kind, values in group_ids.items()}
        for kind, values in incoming.items():
            union.setdefault(kind, set()).update(values)
        if group_roots or new_identifiers:
            violated = rules.violated_limit(union)
            if violated is not None:
                conflicts.append(Conflict(identifier, f"limit:{violated.value}"))
                continue
            if root is not None and root in split:
                conflicts.append(Conflict(identifier, "split"))
                continue
            if root is not None and group_roots and not link_rule:
                link_rule = identifier[0].value
        group_ids = union
        if root is None:
            new_identifiers.append(identifier)
        else:
            group_roots.append(root)
            split |= profiles[root].split_from

    members = sorted((profiles[root] for root in group_roots), key=lambda profile: profile.age_key)
    created = not members
    if created:
        survivor = Profile(profile_id=new_profile_id(event.event_id), version=0, created_at=now_iso)
        merged: list[Profile] = []
        base_version = None
    else:
        survivor = copy.deepcopy(members[0])
        merged = members[1:]
        base_version = members[0].version

    changed: set[str] = set()
    for loser in merged:
        changed.update(absorb(survivor, copy.deepcopy(loser)))
    for kind, value in new_identifiers:
        survivor.identifiers.setdefault(kind, set()).add(value)
    changed.update(fold_traits(survivor, observed_traits(event)))
    touched = fold_first_touch(survivor, first_touch_of(event))
    if event.channel.value not in survivor.channels:
        survivor.channels.add(event.channel.value)
        touched = True
    previous_seen = survivor.last_seen
    if fold_last_seen(survivor, stamp_of(event)) and (
        previous_seen is None or _seconds_between(previous_seen.occurred_at, event) >= LAST_SEEN_STEP_SECONDS
    ):
        touched = True

    return Plan(
        event_id=event.event_id,
        survivor=survivor,
        created=created,
        base_version=base_version,
        merged=merged,
        new_identifiers=new_identifiers,
        conflicts=conflicts,
        blocked=blocked,
        changed_traits=sorted(changed),
        rule=link_rule,
        touched=touched,
        survivor_before=members[0] if merged else None,
    )


def _seconds_between(earlier_iso: str, event: CanonicalEvent) -> float:
    earlier = datetime.fromisoformat(earlier_iso.replace("Z", "+00:00"))
    return (event.occurred_at - earlier).total_seconds()
