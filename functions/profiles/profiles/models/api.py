"""What the profiles API answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType
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


class GroupOut(BaseModel):
    group_id: str
    traits: dict[str, Any]
    occurred_at: str


class ProfileOut(BaseModel):
    profile_id: str
    requested_id: str | None = Field(default=None, description="Set when the id asked for was merged into this one")
    version: int
    created_at: str
    identifiers: dict[str, list[str]]
    verified_identifiers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="The identifiers tied to the customer id through verified links only: what the customer sees",
    )
    traits: dict[str, TraitOut]
    groups: list[GroupOut] = Field(default_factory=list, description="Accounts the person belongs to (group calls)")
    first_touch: FirstTouchOut | None = None
    last_seen_at: str | None = None
    channels: list[str]
    merged_ids: list[str]

    @classmethod
    def of(cls, profile: Profile, requested_id: str | None = None, *, customer: bool = False) -> ProfileOut:
        """The profile as staff see it; ``customer``: as its customer does (only what verified links tie to their
        customer id, and traits those identifiers stated; no merge history, first touch or channels)."""
        anchored = profile.anchored()
        touch = profile.first_touch
        shown = anchored if customer else profile.identifier_pairs()
        return cls(
            profile_id=profile.profile_id,
            requested_id=requested_id if requested_id and requested_id != profile.profile_id else None,
            version=profile.version,
            created_at=profile.created_at,
            identifiers=_sets(shown),
            verified_identifiers=_sets(anchored),
            traits={
                name: TraitOut(
                    value=trait.value,
                    occurred_at=trait.stamp.occurred_at,
                    channel=trait.channel,
                    event_id=trait.stamp.event_id,
                )
                for name, trait in sorted(profile.traits.items())
                if trait.own or not customer
            },
            groups=[
                GroupOut(group_id=group_id, traits=group.traits, occurred_at=group.stamp.occurred_at)
                for group_id, group in sorted(profile.groups.items())
                if group.own or not customer
            ],
            first_touch=FirstTouchOut(
                occurred_at=touch.stamp.occurred_at, channel=touch.channel, source=touch.source, campaign=touch.campaign
            )
            if touch and not customer
            else None,
            last_seen_at=profile.last_seen.occurred_at if profile.last_seen and not customer else None,
            channels=[] if customer else sorted(profile.channels),
            merged_ids=[] if customer else sorted(profile.merged_ids),
        )


def _sets(pairs: set[tuple[IdentifierType, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, value in sorted(pairs):
        grouped.setdefault(kind.value, []).append(value)
    return grouped


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


class SuggestionOut(BaseModel):
    other_id: str = Field(description="The profile an asserted link (or an uncovered proof) would have merged")
    identifier_type: str
    reason: str = Field(description="asserted: a client write key's link; unproven: a proof that did not cover it")
    cause_event_id: str
    at: str


class MergeLogOut(BaseModel):
    profile_id: str
    merges: list[MergeOut]
    conflicts: list[ConflictOut]
    suggestions: list[SuggestionOut] = Field(default_factory=list, description="Likely matches for staff to confirm")


class IdentifierOut(BaseModel):
    identifier_type: str
    value: str


class RefusedIdentifierOut(BaseModel):
    identifier_type: str
    reason: str


class VerifiedIdentifiersOut(BaseModel):
    profile: ProfileOut
    linked: list[IdentifierOut] = Field(description="Identifiers of the token now tied to the customer id")
    refused: list[RefusedIdentifierOut] = Field(default_factory=list, description="And those that could not be")


class ConfirmOut(BaseModel):
    survivor: ProfileOut
    merged_ids: list[str]


class BlockedValueOut(BaseModel):
    identifier_type: str
    value: str
    profiles: int = Field(description="How many profiles tried to link it")
    blocked_at: str


class BlockedValuesOut(BaseModel):
    blocked: list[BlockedValueOut]


class LiftedOut(BaseModel):
    identifier_type: str
    lifted: bool = Field(description="False when nothing was held for that identifier")


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
