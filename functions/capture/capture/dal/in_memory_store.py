"""An event store kept in memory, with the same contract as the DynamoDB store: for tests and benchmarks.

The first write of an event id wins, later ones are duplicates. Like the events table's stream, ``stream``
receives each newly stored event exactly once; ``take_stream()`` hands over what arrived since the last call,
as the stream publisher gets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from capture.logic.capture_service import EventStore, IncomingEvent, OutboxEntry, StoreResult
from capture.logic.outbox_relay import RelayStore
from omnichannel.canonical_event import CanonicalEvent, utc_iso


class InMemoryEventStore:
    def __init__(self) -> None:
        self.items: dict[str, IncomingEvent] = {}
        self.stream: list[CanonicalEvent] = []
        self.outbox: dict[tuple[str, str], OutboxEntry] = {}
        self.store_calls = 0
        self._sequence = 0

    @property
    def events(self) -> list[CanonicalEvent]:
        return [item.event for item in self.items.values()]

    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        self.store_calls += 1
        result = StoreResult()
        for incoming in events:
            if incoming.event.event_id in self.items:
                result.duplicates.append(incoming.event)
            else:
                self.items[incoming.event.event_id] = incoming
                self.stream.append(incoming.event)
                result.stored.append(incoming.event)
        return result

    def take_stream(self) -> list[CanonicalEvent]:
        records, self.stream = self.stream, []
        return records

    def add_to_outbox(self, event_ids: Sequence[str], now: datetime | None = None) -> OutboxEntry:
        self._sequence += 1
        moment = utc_iso(now or datetime.now(UTC))
        entry = OutboxEntry(pk="OUTBOX#0", sk=f"{moment}#{self._sequence:08d}", event_ids=tuple(event_ids))
        self.outbox[(entry.pk, entry.sk)] = entry
        return entry

    def settle_outbox(self, entry: OutboxEntry, unpublished: Sequence[str]) -> None:
        if unpublished:
            self.outbox[(entry.pk, entry.sk)] = OutboxEntry(entry.pk, entry.sk, tuple(unpublished))
        else:
            self.outbox.pop((entry.pk, entry.sk), None)

    def due_outbox_entries(self, older_than: datetime, limit: int = 100) -> list[OutboxEntry]:
        cutoff = utc_iso(older_than)
        return [entry for entry in self.outbox.values() if entry.sk < cutoff][:limit]

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]:
        return [self.items[event_id].event for event_id in event_ids if event_id in self.items]


_event_store: type[EventStore] = InMemoryEventStore  # keeps to the protocols (checked by mypy)
_relay_store: type[RelayStore] = InMemoryEventStore
