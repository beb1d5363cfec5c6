"""Capture's exactly-once effect, in two steps joined by the table's stream (a transactional outbox).

1. **Store** (the HTTP request): events are de-duplicated on ``event_id`` within the request; their raw messages
   go to the data lake first (one Firehose ``PutRecordBatch`` per request: a lake is at-least-once, so a message
   sent again may be archived again, never lost), then each is written on the condition that the id is new. A
   retried message (same source and messageId, so the same event_id) fails the condition: it is answered like a
   success and neither stored nor published again. The request makes no bus call at all: one conditional write
   per event.
2. **Publish** (the events table's DynamoDB stream): every *new* event item appears exactly once on the
   stream; the stream publisher puts them on the bus in chunks of 10, retrying only the failed entries. What
   still fails for a passing reason is written to the outbox and published later by the scheduled relay (with
   backoff, see ``outbox_relay``); what the bus refuses for good (malformed, too large) goes straight to the
   outbox's dead-letter partition, which nothing retries and an alarm watches. An accepted event is never
   lost: it is on the stream until published (the stream retries and, at worst, parks the batch on the
   failure queue), in the outbox until the relay gets it out, or in the dead-letter partition.

No boto3 here: the store and the publisher are passed in (tests pass fakes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.event_bus import PERMANENT_ERRORS, BusEvent, EventPublisher


@dataclass(frozen=True)
class IncomingEvent:
    """A canonical event with the raw message it was made from (kept for audit and replay), and its JSON when the
    producer already serialised it (so the store does not serialise it again)."""

    event: CanonicalEvent
    raw: str | None = None
    canonical_json: str | None = None

    def json(self) -> str:
        return self.canonical_json or self.event.model_dump_json(exclude_none=True)


@dataclass(frozen=True)
class OutboxEntry:
    """Names events that are stored but not yet on the bus.

    ``sk`` starts with a time (ISO 8601 UTC): when the entry was parked or, after a failed attempt, until when
    it waits; the relay takes entries whose time is older than its grace period, oldest first. ``attempts``
    counts the relay's failed attempts; ``reason`` is the last error of a dead-lettered entry.
    """

    pk: str
    sk: str
    event_ids: tuple[str, ...]
    attempts: int = 0
    reason: str | None = None


@dataclass
class StoreResult:
    stored: list[CanonicalEvent] = field(default_factory=list)
    duplicates: list[CanonicalEvent] = field(default_factory=list)


class RawArchive(Protocol):
    def keep(self, events: Sequence[IncomingEvent]) -> None:
        """Keep the events' raw messages (and canonical form) where analysts read them; raise if that failed."""
        ...


class EventStore(Protocol):
    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        """Write the events whose id is new; report which were duplicates."""
        ...


class OutboxStore(Protocol):
    def add_to_outbox(self, event_ids: Sequence[str], *, due: datetime | None = None, attempts: int = 0) -> OutboxEntry:
        """Record events that could not be published yet (one entry for all of them), due at ``due`` (now)."""
        ...

    def dead_letter(self, event_ids: Sequence[str], *, reason: str, attempts: int = 0) -> OutboxEntry:
        """Record events that will not be published by retrying, in the partition the relay does not read."""
        ...


@dataclass
class CaptureOutcome:
    stored: list[CanonicalEvent] = field(default_factory=list)
    duplicates: list[CanonicalEvent] = field(default_factory=list)


def to_bus_event(event: CanonicalEvent) -> BusEvent:
    return BusEvent(
        event_id=event.event_id,
        source=CAPTURE_SOURCE,
        detail_type=event.detail_type,
        detail=event.to_bus_detail(),
    )


@dataclass
class Publication:
    """What became of events offered to the bus."""

    published: list[str] = field(default_factory=list)
    retry: dict[str, str] = field(default_factory=dict)  # event_id -> error that may pass on a later attempt
    refused: dict[str, str] = field(default_factory=dict)  # event_id -> error that will not (PERMANENT_ERRORS)


def publish(publisher: EventPublisher, events: Sequence[CanonicalEvent]) -> Publication:
    """Put ``events`` on the bus; sorts what still failed after the publisher's retries into retry and refused."""
    if not events:
        return Publication()
    result = publisher.publish([to_bus_event(event) for event in events])
    publication = Publication(published=list(result.published))
    for event_id in sorted(result.failed):
        code = result.failed[event_id]
        (publication.refused if code in PERMANENT_ERRORS else publication.retry)[event_id] = code
    return publication


def dead_letter_by_reason(outbox: OutboxStore, failures: Mapping[str, str], *, attempts: int = 0) -> None:
    """One dead-letter entry per reason for ``failures`` (event_id -> reason)."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for event_id, reason in failures.items():
        by_reason[reason].append(event_id)
    for reason, event_ids in sorted(by_reason.items()):
        outbox.dead_letter(sorted(event_ids), reason=reason, attempts=attempts)


@dataclass
class Parking:
    published: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)  # in the outbox, for the relay
    dead_lettered: dict[str, str] = field(default_factory=dict)  # event_id -> reason


def publish_or_park(publisher: EventPublisher, outbox: OutboxStore, events: Sequence[CanonicalEvent]) -> Parking:
    """Publish; park what still fails for a passing reason in the outbox for the relay, and dead-letter what the
    bus refuses for good (its detail malformed or too large)."""
    publication = publish(publisher, events)
    if publication.retry:
        outbox.add_to_outbox(sorted(publication.retry))
    dead_letter_by_reason(outbox, publication.refused)
    return Parking(publication.published, sorted(publication.retry), dict(publication.refused))


class CaptureService:
    def __init__(self, store: EventStore, archive: RawArchive | None = None) -> None:
        self._store = store
        self._archive = archive

    def capture(self, incoming: Sequence[IncomingEvent]) -> CaptureOutcome:
        unique: dict[str, IncomingEvent] = {}
        repeated: list[CanonicalEvent] = []
        for item in incoming:
            if item.event.event_id in unique:
                repeated.append(item.event)
            else:
                unique[item.event.event_id] = item
        if not unique:
            return CaptureOutcome(duplicates=repeated)
        if self._archive is not None:
            self._archive.keep(list(unique.values()))
        stored = self._store.store_new(list(unique.values()))
        return CaptureOutcome(stored=stored.stored, duplicates=stored.duplicates + repeated)
