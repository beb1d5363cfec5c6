"""Undoing a wrong merge from the merge log.

The merged profile gets back exactly what it had when it was merged (identifiers, traits, first touch,
channels, the profiles merged into it before). The survivor keeps what it had before the merge and everything
that came to it after: identifiers linked since stay, and for each trait the value stays unless it came from
the merged side, in which case the survivor's own value from before the merge (if any) comes back. Both remember
the split, so an event carrying identifiers of both does not merge them again (the conflict is recorded).
"""

from __future__ import annotations

import copy

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
    before_traits = survivor_before.traits if survivor_before else {}
    for name, current in list(kept.traits.items()):
        came_from_merged = merged.traits.get(name) == current
        if came_from_merged:
            if name in before_traits:
                kept.traits[name] = before_traits[name]
            else:
                del kept.traits[name]
    if merged.first_touch is not None and kept.first_touch == merged.first_touch:
        kept.first_touch = survivor_before.first_touch if survivor_before else None
    if survivor_before is not None:
        kept.channels = set(survivor_before.channels) | (kept.channels - merged.channels)
    kept.merged_ids -= {merged.profile_id} | merged.merged_ids
    kept.split_from.add(merged.profile_id)
    restored.split_from.add(kept.profile_id)
    return kept, restored
