"""What the profiles function puts on the bus: ``profile.created``, ``profile.updated``, ``profile.merged``,
``profile.unmerged`` and ``profile.erased`` (source ``omnichannel.profiles``).

Every detail carries a stable ``event_id`` (consumers are idempotent on it) and the profile ids involved.
Identifiers are written as in the canonical event: type -> normalised value(s), the same spelling
``omnichannel.identifiers.normalize`` gives. Parsing ignores fields a later version adds.

The events come from the profiles table's stream (the table is the outbox), so a change that was stored is a
change that is announced, at least once, even if the resolver died right after its write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.identifiers import IdentifierType

PROFILES_SOURCE = "omnichannel.profiles"
PROFILE_EVENT_NAMESPACE = uuid.UUID("0b6b1f3e-5d0a-4f7e-8a53-0f3f7b1c2d44")

IdentifierSets = dict[IdentifierType, list[str]]


class ProfileEventType(StrEnum):
    CREATED = "profile.created"
    UPDATED = "profile.updated"
    MERGED = "profile.merged"
    UNMERGED = "profile.unmerged"
    ERASED = "profile.erased"


def profile_event_id(*parts: str) -> str:
    """A stable id for a profile event, from the change that caused it (same change, same id)."""
    return str(uuid.uuid5(PROFILE_EVENT_NAMESPACE, "\x1f".join(parts)))


class _ProfileEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id of this change; consumers are idempotent on it")
    occurred_at: datetime = Field(description="When the change was made")


_VERIFIED = (
    "Identifiers tied to the profile's customer id (user_id) through verified links only (signed webhooks, POS, "
    "server keys, the customer's own token): what a consumer may act on for that customer (e.g. carts follows a "
    "store purchase by loyalty card). Identifiers only a client write key asserted are never here."
)


class ProfileCreated(_ProfileEvent):
    profile_id: str
    identifiers: IdentifierSets = Field(default_factory=dict)
    verified_identifiers: IdentifierSets = Field(default_factory=dict, description=_VERIFIED)
    cause_event_id: str | None = Field(default=None, description="The captured event that created it")


class ProfileUpdated(_ProfileEvent):
    """Identifiers were attached, traits changed value, or identifiers became tied to the customer id."""

    profile_id: str
    added_identifiers: IdentifierSets = Field(default_factory=dict)
    verified_added: IdentifierSets = Field(default_factory=dict, description="Newly so: " + _VERIFIED)
    changed_traits: list[str] = Field(default_factory=list)
    cause_event_id: str | None = None


class ProfileMerged(_ProfileEvent):
    """``merged_id`` is now a pointer to ``survivor_id``; everything of it belongs to the survivor.

    A merge of three profiles is two events, one per merged profile.
    """

    merge_id: str = Field(description="The merge log entry; an admin may undo it (profile.unmerged)")
    survivor_id: str
    merged_id: str
    rule: str = Field(description="Why: which identifier linked them, e.g. 'email'")
    cause_event_id: str | None = None
    moved_identifiers: IdentifierSets = Field(default_factory=dict)


class ProfileUnmerged(_ProfileEvent):
    """An admin undid merge ``merge_id``: ``restored_id`` is its own profile again, with these identifiers."""

    merge_id: str
    survivor_id: str
    restored_id: str
    restored_identifiers: IdentifierSets = Field(default_factory=dict)


class ProfileErased(_ProfileEvent):
    """Right to be forgotten (GDPR art. 17, KVKK art. 7): delete everything of these profiles and identifiers.

    ``profile_ids`` holds the profile and every profile ever merged into it. The identifiers are the only
    personal data on the bus for this event, and only so that each function can find what to delete.
    """

    profile_id: str
    profile_ids: list[str]
    identifiers: IdentifierSets = Field(default_factory=dict)
