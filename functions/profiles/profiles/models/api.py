"""What the profiles API answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omnichannel.canonical_event import CanonicalEvent
from profiles.models.profile import Profile


class TraitOut(BaseModel):
    value: Any
    occurred_at: str
    channel: str
    event_id: str


class FirstTouchOut(BaseModel):
    occurred_at: str
    channel: str
    source: str
    campaign: dict[str, str] = Field(default_factory=dict)


class ProfileOut(BaseModel):
    profile_id: str
    requested_id: str | None = Field(default=None, description="Set when the id asked for was merged into this one")
    version: int
    created_at: str
    identifiers: dict[str, list[str]]
    traits: dict[str, TraitOut]
    first_touch: FirstTouchOut | None = None
    last_seen_at: str | None = None
    channels: list[str]
    merged_ids: list[str]

    @classmethod
    def of(cls, profile: Profile, requested_id: str | None = None) -> ProfileOut:
        touch = profile.first_touch
        return cls(
            profile_id=profile.profile_id,
            requested_id=requested_id if requested_id and requested_id != profile.profile_id else None,
            version=profile.version,
            created_at=profile.created_at,
            identifiers={kind.value: sorted(values) for kind, values in sorted(profile.identifiers.items())},
            traits={
                name: TraitOut(
                    value=trait.value,
                    occurred_at=trait.stamp.occurred_at,
                    channel=trait.channel,
                    event_id=trait.stamp.event_id,
                )
                for name, trait in sorted(profile.traits.items())
            },
            first_touch=FirstTouchOut(
                occurred_at=touch.stamp.occurred_at, channel=touch.channel, source=touch.source, campaign=touch.campaign
            )
            if touch
            else None,
            last_seen_at=profile.last_seen.occurred_at if profile.last_seen else None,
            channels=sorted(profile.channels),
            merged_ids=sorted(profile.merged_ids),
        )


class TimelineOut(BaseModel):
    profile_id: str
    events: list[CanonicalEvent]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next (older) page")


class MergeOut(BaseModel):
    merge_id: str
    survivor_id: str
    merged_id: str
    rule: str
    cause_event_id: str
    merged_at: str
    moved_identifiers: dict[str, list[str]]
    undone_at: str | None = None


class ConflictOut(BaseModel):
    event_id: str
    identifier_type: str
    reason: str
    at: str


class MergeLogOut(BaseModel):
    profile_id: str
    merges: list[MergeOut]
    conflicts: list[ConflictOut]


class UnmergeOut(BaseModel):
    merge_id: str
    survivor: ProfileOut
    restored: ProfileOut


class ErasureOut(BaseModel):
    profile_id: str
    erased_profile_ids: list[str]
    identifiers_erased: int
    items_deleted: int
    note: str = "Captured events and every other function's data are erased on the profile.erased event."
