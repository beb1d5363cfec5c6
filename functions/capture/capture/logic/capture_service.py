"""Capture's exactly-once effect, in two steps joined by the table's stream (a transactional outbox).

1. **Store** (the HTTP request): events are de-duplicated on ``event_id`` within the request, then written on
   the condition that the id is new. A retried message (same source and messageId, so the same event_id) fails
   the condition: it is answered like a success and neither stored nor published again. The request makes
   no bus call at all: one conditional write per event, or one transaction per 100 events of a batch.
2. **Publish** (the events table's DynamoDB stream): every *new* event item appears exactly once on the
   stream; the stream publisher puts them on the bus in chunks of 10, retrying only the failed entries. What
   still fails is written to the outbox and published later by the scheduled relay. An accepted event is
   never lost: it is on the stream until published (the stream retries and, at worst, parks the batch on the
   failure queue), and in the outbox until the relay gets it out.

No boto3 here: the store and the publisher are passed in (tests pass fakes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.event_bus import BusEvent, EventPublisher


@dataclass(frozen=True)
class IncomingEvent:
    """A canonical event with the raw message it was made from (kept for audit and replay)."""

    event: CanonicalEvent
    raw: str | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """Names events that are stored but not yet on the bus."""

    pk: str
    sk: str
    event_ids: tuple[str, ...]


@dataclass
class StoreResult:
    stored: list[CanonicalEvent] = field(default_factory=list)
    duplicates: list[CanonicalEvent] = field(default_factory=list)


class EventStore(Protocol):
    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        """Write the events whose id is new; report which were duplicates."""
        ...


class OutboxStore(Protocol):
    def add_to_outbox(self, event_ids: Sequence[str]) -> OutboxEntry:
        """Record events that could not be published (one entry for all of them)."""
        ...

    def settle_outbox(self, entry: OutboxEntry, unpublished: Sequence[str]) -> None:
        """Delete ``entry`` when nothing is left unpublished, else keep only the ``unpublished`` ids."""
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


def publish(publisher: EventPublisher, events: Sequence[CanonicalEvent]) -> list[str]:
    """Put ``events`` on the bus; returns the ids that still failed after the publisher's retries."""
    if not events:
        return []
    result = publisher.publish([to_bus_event(event) for event in events])
    return sorted(result.failed)


def publish_or_park(publisher: EventPublisher, outbox: OutboxStore, events: Sequence[CanonicalEvent]) -> list[str]:
    """Publish, and park what still fails in the outbox for the relay. Returns the parked ids."""
    failed = publish(publisher, events)
    if failed:
        outbox.add_to_outbox(failed)
    return failed


class CaptureService:
    def __init__(self, store: EventStore) -> None:
        self._store = store

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
        stored = self._store.store_new(list(unique.values()))
        return CaptureOutcome(stored=stored.stored, duplicates=stored.duplicates + repeated)
