"""Identity resolution of one event: which profile its identifiers belong to, and what has to change.

Pure: the data layer reads who owns each identifier (following merge pointers to the survivor) and those
profiles, this decides, the data layer writes the decision in one transaction conditioned on the versions it
read. The rule, identifier by identifier in priority order (``IdentityRules``):

1. The first identifier's profile (or, if nobody holds it, a new one) starts the group.
2. Each next identifier joins with its whole profile, unless
   - the union would hold more values of a type than the type's limit (``limit:<type>``), or
   - an admin split the two apart, directly or through a profile either was merged with since (``split``), or
   - the event is **asserted** (a client write key) and both its profile and the group already say who someone
     is (anything beyond device and browser ids): an asserted link never joins two people's histories
     (``asserted``; recorded as a suggested match for staff), or
   - the event is a customer's **proof** (their token's verified claims) and the profile holds identities the
     proof does not cover (``unproven``; a suggested match too).
   The conflict is recorded; a skipped identifier is not kept as a trait either.
3. One profile in the group: attach the new identifiers. Several: merge them into the oldest (ties by id).

A verified event also joins the verified components of the identifiers it carries (``Profile.links``): what the
customer of a profile may see is what verified links tie to their customer id (``Profile.anchored``).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omnichannel.canonical_event import CanonicalEvent, EventType, utc_iso
from omnichannel.identifiers import TRAIT_IDENTIFIERS, IdentifierType, Provenance, identifier_digest
from profiles.logic.identity_rules import Identifier, IdentityRules
from profiles.logic.traits import (
    absorb,
    first_touch_of,
    fold_first_touch,
    fold_group,
    fold_last_seen,
    fold_traits,
    observed_traits,
    stamp_of,
)
from profiles.models.profile import DEVICE_TYPES, Profile

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
class Mode:
    """How an event is resolved. ``synthetic``: not a touchpoint (a customer's proof, a staff confirmation): no
    traits, channel or timeline row. ``proof``: a customer's token proving identifiers: strict joins."""

    synthetic: bool = False
    proof: bool = False


@dataclass(frozen=True)
class Conflict:
    identifier: Identifier
    reason: str  # "limit:<type>", "split", "asserted" or "unproven"


@dataclass(frozen=True)
class SuggestedMatch:
    """An identifier that would have joined ``other_id`` to the survivor, had the link been verified."""

    other_id: str
    identifier: Identifier
    reason: str


@dataclass(frozen=True)
class TimelineEntry:
    """The resolver's decision, kept: this event belongs to this profile's timeline."""

    profile_id: str
    occurred_at: str
    event_id: str
    digests: tuple[str, ...]  # of the event's identifiers the profile held
    received_at: datetime

    @property
    def sort_key(self) -> str:
        return f"{self.occurred_at}#{self.event_id}"


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
    suggestions: list[SuggestedMatch] = field(default_factory=list)
    tried: list[tuple[Identifier, str]] = field(default_factory=list)  # (identifier, profile that could not link it)
    anchored_added: list[Identifier] = field(default_factory=list)  # now tied to the customer id by verified links
    links_changed: bool = False
    timeline: TimelineEntry | None = None

    @property
    def needs_write(self) -> bool:
        return bool(
            self.created
            or self.merged
            or self.new_identifiers
            or self.conflicts
            or self.changed_traits
            or self.touched
            or self.links_changed
        )


def new_profile_id(event_id: str) -> str:
    """The id of a profile an event creates: stable, so a retried creation is the same profile."""
    return str(uuid.uuid5(PROFILE_ID_NAMESPACE, event_id))


@dataclass
class _Group:
    """The profiles and new identifiers an event's identifiers gather, as they are taken in priority order."""

    roots: list[str] = field(default_factory=list)
    ids: dict[IdentifierType, set[str]] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)  # the roots and every profile merged into them
    split: set[str] = field(default_factory=set)  # profiles an admin split from any of them
    new: list[Identifier] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    suggestions: list[SuggestedMatch] = field(default_factory=list)
    tried: list[Identifier] = field(default_factory=list)
    rule: str = ""

    @property
    def empty(self) -> bool:
        return not self.roots and not self.new

    def bears_identity(self) -> bool:
        return any(kind not in DEVICE_TYPES for kind in self.ids)

    def union_with(self, incoming: Mapping[IdentifierType, set[str]]) -> dict[IdentifierType, set[str]]:
        union = {kind: set(values) for kind, values in self.ids.items()}
        for kind, values in incoming.items():
            union.setdefault(kind, set()).update(values)
        return union


def _proof_covers(profile: Profile, proven: set[Identifier]) -> bool:
    """Whether every identity ``profile`` holds is tied by verified links to an identifier the customer proved."""
    covered: set[Identifier] = set()
    for identifier in proven & profile.identifier_pairs():
        covered |= profile.component_of(identifier)
    return all(kind in DEVICE_TYPES or (kind, value) in covered for kind, value in profile.identifier_pairs())


def _refusal(
    group: _Group, root: Profile | None, identifier: Identifier, event: CanonicalEvent, rules: IdentityRules, mode: Mode
) -> str | None:
    """Why ``identifier`` (and ``root``, the profile holding it) may not join the group, if it may not."""
    incoming = root.identifiers if root is not None else {identifier[0]: {identifier[1]}}
    violated = rules.violated_limit(group.union_with(incoming))
    if violated is not None:
        return f"limit:{violated.value}"
    if root is None:
        return None
    if ({root.profile_id} | root.merged_ids) & group.split or root.split_from & group.members:
        return "split"
    if event.provenance is Provenance.ASSERTED and root.bears_identity() and group.bears_identity():
        return "asserted"
    if mode.proof and not _proof_covers(root, _proven(event)):
        return "unproven"
    return None


def _proven(event: CanonicalEvent) -> set[Identifier]:
    return {item for item in event_identifiers(event) if item[0] is not IdentifierType.USER_ID}


def _counts_toward_block(root: Profile, identifier: Identifier, reason: str) -> bool:
    """Whether a refused link counts toward blocking the identifier (``IDENTITY_AUTOBLOCK_AFTER`` profiles tried).

    An undone merge is staff's decision, not a shared value. A public key's attempt on an identifier its holder got
    from a verified source (the store's sale, a signed WhatsApp message, their own proof) does not count either:
    ten made-up accounts naming a customer's e-mail would otherwise cut it off its owner. A kiosk's browser id or a
    test e-mail, which nobody verified, is still blocked once enough profiles tried it."""
    if reason == "split":
        return False
    return not (reason == "asserted" and identifier in root.links)


def _gather(
    event: CanonicalEvent,
    usable: list[Identifier],
    owners: Mapping[Identifier, str],
    profiles: Mapping[str, Profile],
    rules: IdentityRules,
    mode: Mode,
) -> _Group:
    group = _Group()
    for identifier in usable:
        root_id = owners.get(identifier)
        if root_id is not None and root_id in group.roots:
            continue
        root = profiles[root_id] if root_id is not None else None
        if not group.empty:
            reason = _refusal(group, root, identifier, event, rules, mode)
            if reason is not None:
                group.conflicts.append(Conflict(identifier, reason))
                if root is not None and _counts_toward_block(root, identifier, reason):
                    group.tried.append(identifier)
                if root is not None and reason in ("asserted", "unproven"):
                    group.suggestions.append(SuggestedMatch(root.profile_id, identifier, reason))
                continue
            if root is not None and group.roots and not group.rule:
                group.rule = identifier[0].value
        group.ids = group.union_with(root.identifiers if root is not None else {identifier[0]: {identifier[1]}})
        if root is None:
            group.new.append(identifier)
        else:
            group.roots.append(root.profile_id)
            group.members |= {root.profile_id} | root.merged_ids
            group.split |= root.split_from
    return group


def _merge_bound(profile: Profile) -> str:
    """The latest time a merged profile's timeline partition can hold: its last seen, which is written at least
    every ``LAST_SEEN_STEP_SECONDS`` of event time (an unwritten later event is closer than that)."""
    seen = profile.last_seen.occurred_at if profile.last_seen else profile.created_at
    moment = datetime.fromisoformat(seen.replace("Z", "+00:00")) + timedelta(seconds=LAST_SEEN_STEP_SECONDS + 1)
    return utc_iso(moment)


def join_verified(profile: Profile, identifiers: list[Identifier], label: str) -> bool:
    """A verified source saw ``identifiers`` together: their components become one. Whether anything changed."""
    held = [item for item in identifiers if item in profile.identifier_pairs()]
    if len(held) < 2:
        return False
    labels = {profile.links[item] for item in held if item in profile.links}
    target = min(labels) if labels else label
    before = dict(profile.links)
    for item, current in list(profile.links.items()):
        if current in labels:
            profile.links[item] = target
    for item in held:
        profile.links[item] = target
    return profile.links != before


def _survivor(event: CanonicalEvent, group: _Group, profiles: Mapping[str, Profile], now_iso: str) -> Plan:
    members = sorted((profiles[root] for root in group.roots), key=lambda profile: profile.age_key)
    if not members:
        survivor = Profile(profile_id=new_profile_id(event.event_id), version=0, created_at=now_iso)
        return Plan(event_id=event.event_id, survivor=survivor, created=True, base_version=None)
    plan = Plan(
        event_id=event.event_id,
        survivor=copy.deepcopy(members[0]),
        created=False,
        base_version=members[0].version,
        merged=members[1:],
        survivor_before=members[0] if len(members) > 1 else None,
    )
    return plan


def _apply_traits(
    plan: Plan, event: CanonicalEvent, usable: list[Identifier], skipped: set[IdentifierType]
) -> set[str]:
    """The event's traits on the survivor, without those naming an identifier the event could not link; a group
    call's traits go to the group. They are the customer's own when the event carried an anchored identifier."""
    survivor = plan.survivor
    own = bool(set(usable) & survivor.anchored())
    observed = {
        name: value
        for name, value in observed_traits(event, own=own).items()
        if TRAIT_IDENTIFIERS.get(name) not in skipped
    }
    changed = set(fold_traits(survivor, observed))
    is_group = event.type is EventType.GROUP and event.group_id
    if is_group and fold_group(survivor, str(event.group_id), dict(event.traits), stamp_of(event), own=own):
        changed.add("groups")
    return changed


def _touch(plan: Plan, event: CanonicalEvent) -> bool:
    survivor = plan.survivor
    touched = fold_first_touch(survivor, first_touch_of(event))
    if event.channel.value not in survivor.channels:
        survivor.channels.add(event.channel.value)
        touched = True
    previous_seen = survivor.last_seen
    if fold_last_seen(survivor, stamp_of(event)) and (
        previous_seen is None or _seconds_between(previous_seen.occurred_at, event) >= LAST_SEEN_STEP_SECONDS
    ):
        touched = True
    return touched


def plan_resolution(
    event: CanonicalEvent,
    owners: Mapping[Identifier, str],
    profiles: Mapping[str, Profile],
    rules: IdentityRules,
    *,
    now_iso: str,
    excluded: set[Identifier] | frozenset[Identifier] = frozenset(),
    mode: Mode | None = None,
) -> Plan | None:
    """The change resolving ``event`` makes. ``owners`` maps known identifiers to their (root) profile id,
    ``profiles`` holds those root profiles; ``excluded`` identifiers may not link (suppressed, auto-blocked).
    ``None`` when the event carries no usable identifier."""
    mode = mode or Mode()
    wanted = rules.ordered(event_identifiers(event))
    blocked = [item for item in wanted if rules.is_blocked(*item) or item in excluded]
    usable = [item for item in wanted if item not in blocked]
    if not usable:
        return None
    group = _gather(event, usable, owners, profiles, rules, mode)
    plan = _survivor(event, group, profiles, now_iso)
    survivor = plan.survivor
    anchored_before = survivor.anchored()
    changed: set[str] = set()
    for loser in plan.merged:
        changed.update(absorb(survivor, copy.deepcopy(loser)))
        survivor.merged_spans[loser.profile_id] = _merge_bound(loser)
    for kind, value in group.new:
        survivor.identifiers.setdefault(kind, set()).add(value)
    if event.provenance is Provenance.VERIFIED:
        plan.links_changed = join_verified(survivor, usable, label=event.event_id)
    plan.anchored_added = sorted(survivor.anchored() - anchored_before)
    plan.links_changed = plan.links_changed or bool(plan.anchored_added)
    skipped = {conflict.identifier[0] for conflict in group.conflicts} | {item[0] for item in blocked}
    if not mode.synthetic:
        changed |= _apply_traits(plan, event, usable, skipped)
        plan.touched = _touch(plan, event)
        plan.timeline = TimelineEntry(
            profile_id=survivor.profile_id,
            occurred_at=utc_iso(event.occurred_at),
            event_id=event.event_id,
            digests=tuple(sorted(identifier_digest(*item) for item in usable if item in survivor.identifier_pairs())),
            received_at=event.received_at,
        )
    plan.new_identifiers = group.new
    plan.conflicts = group.conflicts
    plan.suggestions = group.suggestions
    plan.tried = [(item, survivor.profile_id) for item in group.tried]
    plan.blocked = blocked
    plan.changed_traits = sorted(changed)
    plan.rule = group.rule
    return plan


def _seconds_between(earlier_iso: str, event: CanonicalEvent) -> float:
    earlier = datetime.fromisoformat(earlier_iso.replace("Z", "+00:00"))
    return (event.occurred_at - earlier).total_seconds()
