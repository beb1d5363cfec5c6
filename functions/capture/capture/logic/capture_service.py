"""Store, then publish: the exactly-once effect of capture.

1. Events are de-duplicated on ``event_id`` within the request, then written with a condition that the id is new
   (DynamoDB transaction). A retried message (same source and messageId, so same event_id) is found to be a
   duplicate there: it is answered like a success and neither stored nor published again.
2. Each transaction also writes an outbox entry naming its events. Publication (PutEvents, chunks of 10,
   failed entries retried) clears the entry; whatever still failed stays in it for the outbox relay, so an
   accepted event is never lost, even if the function dies between storing and publishing.

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
    """Names the events of one store transaction until they are on the bus."""

    pk: str
    sk: str
    event_ids: tuple[str, ...]


@dataclass
class StoreResult:
    stored: list[CanonicalEvent] = field(default_factory=list)
    duplicates: list[CanonicalEvent] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)


class EventStore(Protocol):
    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        """Write the events whose id is new, each group with an outbox entry; report which were duplicates."""
        ...

    def settle_outbox(self, entry: OutboxEntry, unpublished: Sequence[str]) -> None:
        """Delete ``entry`` when nothing is left unpublished, else keep only the ``unpublished`` ids."""
        ...


@dataclass
class CaptureOutcome:
    stored: list[CanonicalEvent] = field(default_factory=list)
    duplicates: list[CanonicalEvent] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)


def to_bus_event(event: CanonicalEvent) -> BusEvent:
    return BusEvent(
        event_id=event.event_id,
        source=CAPTURE_SOURCE,
        detail_type=event.detail_type,
        detail=event.to_bus_detail(),
    )


def publish_and_settle(
    store: EventStore, publisher: EventPublisher, events: Sequence[CanonicalEvent], outbox: Sequence[OutboxEntry]
) -> list[str]:
    """Publish ``events`` and clear their outbox entries; returns the ids left for the relay."""
    result = publisher.publish([to_bus_event(event) for event in events])
    failed = set(result.failed)
    for entry in outbox:
        store.settle_outbox(entry, [event_id for event_id in entry.event_ids if event_id in failed])
    return sorted(failed)


class CaptureService:
    def __init__(self, store: EventStore, publisher: EventPublisher) -> None:
        self._store = store
        self._publisher = publisher

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
        unpublished = publish_and_settle(self._store, self._publisher, stored.stored, stored.outbox)
        return CaptureOutcome(stored=stored.stored, duplicates=stored.duplicates + repeated, unpublished=unpublished)
