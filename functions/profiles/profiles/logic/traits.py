"""Traits: per attribute the value with the latest ``occurred_at`` wins (ties: the larger event id), first-touch
attributes keep the earliest. Both are maxima/minima under a total order, so the result is the same whatever
order the events arrive in, and whatever order profiles merge in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnichannel.canonical_event import CanonicalEvent, EventType, utc_iso
from profiles.models.profile import FirstTouch, GroupMembership, Profile, Stamp, TraitValue

# Traits that are identifiers are kept as identifiers, not as free traits (and are masked in logs).
_IDENTIFIER_TRAITS = frozenset({"id", "userId", "user_id", "anonymousId", "anonymous_id"})
MAX_TRAITS = 200
MAX_TRAIT_NAME = 128
_CAMPAIGN_KEYS = ("source", "medium", "name", "term", "content")
MAX_GROUPS = 20  # groups kept per person (the most recently stated)


def stamp_of(event: CanonicalEvent) -> Stamp:
    return Stamp(utc_iso(event.occurred_at), event.event_id)


def observed_traits(event: CanonicalEvent, *, own: bool = False) -> dict[str, TraitValue]:
    """The person's traits an event states: ``traits`` of an identify call and ``context.traits`` of any call. A
    group call's ``traits`` describe the group (Segment's spec), never the person: see ``fold_group``."""
    stamp = stamp_of(event)
    found: dict[str, Any] = {}
    context_traits = event.context.get("traits")
    if isinstance(context_traits, Mapping):
        found.update(context_traits)
    if event.type is not EventType.GROUP:
        found.update(event.traits)
    return {
        name: TraitValue(value, stamp, event.channel.value, own)
        for name, value in list(found.items())[:MAX_TRAITS]
        if name not in _IDENTIFIER_TRAITS and len(name) <= MAX_TRAIT_NAME and value is not None
    }


def first_touch_of(event: CanonicalEvent) -> FirstTouch:
    campaign = event.context.get("campaign")
    fields = (
        {key: str(campaign[key]) for key in _CAMPAIGN_KEYS if isinstance(campaign, Mapping) and campaign.get(key)}
        if isinstance(campaign, Mapping)
        else {}
    )
    return FirstTouch(stamp_of(event), event.channel.value, event.source, fields)


def later(current: TraitValue | None, candidate: TraitValue) -> bool:
    return current is None or candidate.stamp > current.stamp


def fold_traits(profile: Profile, traits: Mapping[str, TraitValue]) -> list[str]:
    """Apply observed traits to ``profile``; the names whose value changed."""
    changed: list[str] = []
    for name, candidate in traits.items():
        current = profile.traits.get(name)
        if later(current, candidate):
            profile.traits[name] = candidate
            if current is None or current.value != candidate.value:
                changed.append(name)
    return sorted(changed)


def fold_group(profile: Profile, group_id: str, traits: Mapping[str, Any], stamp: Stamp, *, own: bool = False) -> bool:
    """A ``group`` call: the person belongs to ``group_id``, whose traits are these (latest stated wins)."""
    current = profile.groups.get(group_id)
    if current is not None and current.stamp >= stamp:
        return False
    clean = {name: value for name, value in list(traits.items())[:MAX_TRAITS] if len(name) <= MAX_TRAIT_NAME}
    profile.groups[group_id] = GroupMembership(clean, stamp, own)
    if len(profile.groups) > MAX_GROUPS:
        oldest = min(profile.groups, key=lambda gid: profile.groups[gid].stamp)
        del profile.groups[oldest]
    return current is None or current.traits != clean


def fold_first_touch(profile: Profile, candidate: FirstTouch) -> bool:
    if profile.first_touch is None or candidate.stamp < profile.first_touch.stamp:
        profile.first_touch = candidate
        return True
    return False


def fold_last_seen(profile: Profile, stamp: Stamp) -> bool:
    if profile.last_seen is None or stamp > profile.last_seen:
        profile.last_seen = stamp
        return True
    return False


def absorb(survivor: Profile, merged: Profile) -> list[str]:
    """Fold everything of ``merged`` into ``survivor`` (identifiers and their verified links, traits, groups,
    first touch, channels, merge history)."""
    for kind, values in merged.identifiers.items():
        survivor.identifiers.setdefault(kind, set()).update(values)
    survivor.links.update(merged.links)  # labels are unique per component: they never collide
    changed = fold_traits(survivor, merged.traits)
    for group_id, membership in merged.groups.items():
        if fold_group(survivor, group_id, membership.traits, membership.stamp, own=membership.own):
            changed.append("groups")
    if merged.first_touch is not None:
        fold_first_touch(survivor, merged.first_touch)
    if merged.last_seen is not None:
        fold_last_seen(survivor, merged.last_seen)
    survivor.channels |= merged.channels
    survivor.merged_ids |= {merged.profile_id} | merged.merged_ids
    survivor.merged_spans.update(merged.merged_spans)
    survivor.split_from |= merged.split_from
    return sorted(set(changed))
