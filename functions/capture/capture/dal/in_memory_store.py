"""An EventStore kept in memory: the same contract as the DynamoDB store, for unit tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from capture.logic.capture_service import IncomingEvent, OutboxEntry, StoreResult
from omnichannel.canonical_event import CanonicalEvent, utc_iso


class InMemoryEventStore:
    def __init__(self) -> None:
        self.events: dict[str, IncomingEvent] = {}
        self.outbox: dict[tuple[str, str], OutboxEntry] = {}
        self._sequence = 0

    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        result = StoreResult()
        for incoming in events:
            if incoming.event.event_id in self.events:
                result.duplicates.append(incoming.event)
            else:
                self.events[incoming.event.event_id] = incoming
                result.stored.append(incoming.event)
        return result

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
        return [self.events[event_id].event for event_id in event_ids if event_id in self.events]
