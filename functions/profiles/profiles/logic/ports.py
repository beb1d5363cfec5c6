"""What the profiles logic needs from storage, as protocols (``dal/profile_store.py`` implements them on DynamoDB),
and the outcomes storage reports back. Nothing here touches boto3."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from profiles.logic.identity_rules import Identifier
from profiles.logic.resolution import Plan, TimelineEntry
from profiles.models.profile import Profile


class ConcurrentChange(Exception):
    """Someone changed the profiles this decision was based on; read again and decide again."""


class AlreadyResolved(Exception):
    """This event was resolved before (a redelivery): its timeline row (or, for an event without one, its
    ``RESOLVED`` item) is there."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    """The request contradicts the current state (e.g. undoing a merge twice)."""


@dataclass
class GraphView:
    """What a resolution needs to know: the (root) owner of each identifier, those profiles, and whether the
    event was resolved already. ``stale`` lists identifier items that point to a merged profile; ``excluded`` the
    event's identifiers that may not link (suppressed after an erasure, or blocked for being on too many
    profiles)."""

    already_resolved: bool
    owners: dict[Identifier, str] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    stale: dict[Identifier, str] = field(default_factory=dict)
    orphans: dict[Identifier, str] = field(default_factory=dict)
    excluded: set[Identifier] = field(default_factory=set)
    suppressed: set[Identifier] = field(default_factory=set)  # of ``excluded``: erased customers' identifiers


@dataclass(frozen=True)
class MergeRecord:
    merge_id: str
    survivor_id: str
    merged_id: str
    rule: str
    cause_event_id: str
    merged_at: str
    moved_identifiers: dict[str, list[str]]
    undone_at: str | None
    merged_profile: Profile | None = None  # the merged side as it was (what an unmerge restores)
    survivor_before: Profile | None = None


@dataclass(frozen=True)
class Suggestion:
    """An asserted link that did not merge two profiles: staff may confirm it."""

    profile_id: str
    other_id: str
    identifier_type: str
    reason: str
    cause_event_id: str
    at: str


@dataclass(frozen=True)
class BlockedValue:
    identifier_type: str
    value: str
    profiles: int
    blocked_at: str


class ResolutionStore(Protocol):
    """Reads and conditional writes of one resolution (the resolver's port)."""

    def read_graph(self, identifiers: Sequence[Identifier], event_id: str, *, marker: bool = False) -> GraphView:
        """``marker``: also whether the event's ``RESOLVED`` item is there (an event without a timeline row)."""
        ...

    def recorded_in(self, entry: TimelineEntry, profile_ids: Iterable[str]) -> bool:
        """Whether the event's timeline row is in one of these profiles' partitions (it was resolved to a profile
        merged since)."""
        ...

    def adopt_orphans(self, orphans: dict[Identifier, str]) -> int: ...

    def commit(self, plan: Plan, *, now: datetime) -> None: ...

    def record_timeline(self, entry: TimelineEntry) -> None:
        """The row of an event that changes nothing else; :class:`AlreadyResolved` if it is there already."""
        ...

    def record_references(
        self, event_id: str, digests: Iterable[str], *, profile_id: str | None, received_at: datetime
    ) -> int:
        """Cross-references: the event carries these identifiers (digests) but is in no timeline of their profile."""
        ...

    def request_late_erasure(self, event_id: str, digests: Iterable[str], *, now: datetime) -> None:
        """Ask capture to erase (or redact) a stored event carrying suppressed identifiers (digests)."""
        ...

    def repoint(self, plan: Plan, stale: dict[Identifier, str]) -> int: ...

    def note_tried(self, tried: Iterable[tuple[Identifier, str]], *, threshold: int, now: datetime) -> list[Identifier]:
        """Record that these profiles could not link these identifiers; the ones now blocked (past ``threshold``)."""
        ...


class ProfileReads(Protocol):
    def get_profile(self, profile_id: str) -> Profile | None: ...

    def load_profiles(self, profile_ids: Iterable[str]) -> dict[str, Profile]: ...

    def owner_of(self, identifier: Identifier) -> Profile | None: ...

    def is_erased(self, profile_id: str) -> bool: ...


class UnmergeStore(ProfileReads, Protocol):
    def merge_record(self, survivor_id: str, merge_id: str) -> MergeRecord | None: ...

    def pointer_version(self, profile_id: str) -> int | None: ...

    def commit_unmerge(
        self, kept: Profile, restored: Profile, *, kept_base: int, restored_base: int, merge_id: str, now: datetime
    ) -> None: ...

    def restore_identifiers(self, restored: Profile, *, merge_id: str, now: datetime) -> None: ...

    def move_timeline(self, from_profile: str, to_profile: str, identifiers: set[Identifier]) -> int: ...


@dataclass
class ErasureResult:
    profile_id: str
    profile_ids: list[str]
    identifiers: int
    items_deleted: int
    records_scrubbed: int = 0
    events_named: int = 0  # stored events capture was asked to erase or redact (events.erasure_requested)


class ErasureStore(ProfileReads, Protocol):
    def suggestions_of(self, profile_id: str) -> list[Suggestion]: ...

    def erase(self, profile: Profile, *, requested_by: str, now: datetime) -> ErasureResult: ...

    def scrub_records_of(self, other_ids: Iterable[str], erased_ids: set[str]) -> int: ...

    def suppress(self, digests: Iterable[str], *, now: datetime) -> int: ...

    def lift_suppression(self, digest: str) -> bool: ...
