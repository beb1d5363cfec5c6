"""Undoing a wrong merge from the merge log.

The merged profile gets back exactly what it had when it was merged (identifiers and their verified links,
traits, groups, first touch, channels, the profiles merged into it before). The survivor keeps what it had before
the merge and everything that came to it after: identifiers linked since stay, and for each trait the value stays
unless it came from the merged side, in which case the survivor's own value from before the merge (if any) comes
back. Both remember the split, so an event carrying identifiers of both does not merge them again, directly or
through a profile either is merged with later (the conflict is recorded). What the restored side did while it was
merged (events carrying only its identifiers) moves back to its timeline.
"""

from __future__ import annotations

import copy
from datetime import datetime

from profiles.logic.ports import Conflict, NotFound, UnmergeStore
from profiles.models.profile import Profile


def split_profiles(survivor: Profile, merged: Profile, survivor_before: Profile | None) -> tuple[Profile, Profile]:
    kept = copy.deepcopy(survivor)
    restored = copy.deepcopy(merged)
    restored.merged_into = None
    for kind, values in merged.identifiers.items():
        remaining = kept.identifiers.get(kind, set()) - values
        if remaining:
            kept.identifiers[kind] = remaining
        else:
            kept.identifiers.pop(kind, None)
    kept.links = {item: label for item, label in kept.links.items() if item in kept.identifier_pairs()}
    before_traits = survivor_before.traits if survivor_before else {}
    for name, current in list(kept.traits.items()):
        came_from_merged = merged.traits.get(name) == current
        if came_from_merged:
            if name in before_traits:
                kept.traits[name] = before_traits[name]
            else:
                del kept.traits[name]
    for group_id, membership in list(kept.groups.items()):
        if merged.groups.get(group_id) == membership:
            before = survivor_before.groups.get(group_id) if survivor_before else None
            if before is not None:
                kept.groups[group_id] = before
            else:
                del kept.groups[group_id]
    if merged.first_touch is not None and kept.first_touch == merged.first_touch:
        kept.first_touch = survivor_before.first_touch if survivor_before else None
    if survivor_before is not None:
        kept.channels = set(survivor_before.channels) | (kept.channels - merged.channels)
    gone = {merged.profile_id} | merged.merged_ids
    kept.merged_ids -= gone
    kept.merged_spans = {pid: bound for pid, bound in kept.merged_spans.items() if pid not in gone}
    kept.split_from.add(merged.profile_id)
    restored.split_from.add(kept.profile_id)
    return kept, restored


def undo_merge(store: UnmergeStore, survivor_id: str, merge_id: str, *, now: datetime) -> tuple[Profile, Profile]:
    """Give the merged profile of ``merge_id`` back its identifiers and traits; the survivor keeps what came to it
    later. :class:`NotFound`, :class:`Conflict` (undone already, or the survivor was merged since) or
    ``ConcurrentChange`` (try again)."""
    record = store.merge_record(survivor_id, merge_id)
    if record is None:
        raise NotFound(f"merge {merge_id} of profile {survivor_id}")
    if record.undone_at is not None:
        raise Conflict(f"merge {merge_id} was already undone")
    if record.merged_profile is None or not record.merged_profile.created_at:
        raise Conflict(f"merge {merge_id} no longer holds the merged profile (it was erased)")
    survivor = store.get_profile(survivor_id)
    if survivor is None:
        raise NotFound(f"profile {survivor_id}")
    if survivor.profile_id != survivor_id:
        raise Conflict(f"profile {survivor_id} was merged into {survivor.profile_id} since: undo that merge first")
    pointer_version = store.pointer_version(record.merged_profile.profile_id)
    if pointer_version is None:
        raise NotFound(f"profile {record.merged_profile.profile_id}")
    kept, restored = split_profiles(survivor, record.merged_profile, record.survivor_before)
    kept.version = survivor.version + 1
    restored.version = pointer_version + 1
    store.commit_unmerge(
        kept, restored, kept_base=survivor.version, restored_base=pointer_version, merge_id=merge_id, now=now
    )
    store.restore_identifiers(restored, merge_id=merge_id, now=now)
    store.move_timeline(kept.profile_id, restored.profile_id, restored.identifier_pairs())
    return kept, restored
