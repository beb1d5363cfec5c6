"""What the profiles function puts on the bus: ``profile.created``, ``profile.updated``, ``profile.merged``,
``profile.unmerged`` and ``profile.erased`` (source ``omnichannel.profiles``), and ``events.erasure_requested``: the
stored events capture is to erase or redact (the profiles function knows them from its timeline rows).

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
    EVENTS_ERASURE_REQUESTED = "events.erasure_requested"


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


# Event ids an ``events.erasure_requested`` names at most: about 40 KB of ids, so an entry stays in one 64 KB chunk
# of the bus (and a profiles-table item far under its 400 KB) even beside a few hundred identifier digests.
EVENT_IDS_PER_ERASURE_REQUEST = 1000


class EventsErasureRequested(_ProfileEvent):
    """Capture's part of an erasure: erase these stored events of an erased customer, or take the customer out.

    ``event_ids`` are every captured event that carries one of the erased identifiers, as the profiles function
    knows them: the erased profiles' timelines (merged ones too), the events resolved to someone else that carry one
    of the identifiers (their cross-references), or one event that arrived after the erasure carrying a suppressed
    identifier (``profile_id`` is then ``None``). ``erased`` holds the identifiers' one-way digests
    (``omnichannel.identifiers.identifier_digest``), never their values; ``profile_ids`` the erased profiles. An
    event stays, without the erased identifiers, when another of its identifiers belongs to a profile that is not
    erased; otherwise it goes. A customer with many events is announced in ``parts`` requests, ``part`` 1 to ``parts``.
    """

    profile_id: str | None = None
    profile_ids: list[str] = Field(default_factory=list)
    erased: list[str] = Field(description="Digests of the erased identifiers (identifier_digest)")
    event_ids: list[str] = Field(max_length=EVENT_IDS_PER_ERASURE_REQUEST)
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
