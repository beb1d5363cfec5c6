"""An event store kept in memory, with the same contract as the DynamoDB store: for tests and benchmarks.

The first write of an event id wins, later ones are duplicates. Like the events table's stream, ``stream``
receives each newly stored event exactly once; ``take_stream()`` hands over what arrived since the last call,
as the stream publisher gets it. The outbox keeps the DynamoDB store's rules: one shard (``OUTBOX#0``), entries
read oldest first by ``sk``, dead letters in ``OUTBOX#DEAD``, which ``due_outbox_entries`` never returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from capture.dal.event_store import DEAD_LETTER_PK
from capture.logic.capture_service import EventStore, IncomingEvent, OutboxEntry, StoreResult
from capture.logic.outbox_relay import RELAY_BUDGET, RelayStore
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

    def add_to_outbox(self, event_ids: Sequence[str], *, due: datetime | None = None, attempts: int = 0) -> OutboxEntry:
        return self._put_outbox("OUTBOX#0", event_ids, due or datetime.now(UTC), attempts, None)

    def dead_letter(self, event_ids: Sequence[str], *, reason: str, attempts: int = 0) -> OutboxEntry:
        return self._put_outbox(DEAD_LETTER_PK, event_ids, datetime.now(UTC), attempts, reason)

    def _put_outbox(
        self, pk: str, event_ids: Sequence[str], moment: datetime, attempts: int, reason: str | None
    ) -> OutboxEntry:
        ids = tuple(dict.fromkeys(event_ids))
        if not ids:
            raise ValueError("an outbox entry names at least one event")
        self._sequence += 1
        entry = OutboxEntry(pk, f"{utc_iso(moment)}#{self._sequence:08d}", tuple(sorted(ids)), attempts, reason)
        self.outbox[(entry.pk, entry.sk)] = entry
        return entry

    def remove_from_outbox(self, entry: OutboxEntry) -> None:
        self.outbox.pop((entry.pk, entry.sk), None)

    def due_outbox_entries(self, older_than: datetime, limit: int = RELAY_BUDGET) -> list[OutboxEntry]:
        cutoff = utc_iso(older_than)
        due = (entry for key, entry in sorted(self.outbox.items()) if key[0] != DEAD_LETTER_PK and entry.sk < cutoff)
        return list(due)[:limit]

    def dead_letters(self, limit: int = 100) -> list[OutboxEntry]:
        return [entry for key, entry in sorted(self.outbox.items()) if key[0] == DEAD_LETTER_PK][:limit]

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]:
        return [self.items[event_id].event for event_id in event_ids if event_id in self.items]


_event_store: type[EventStore] = InMemoryEventStore  # keeps to the protocols (checked by mypy)
_relay_store: type[RelayStore] = InMemoryEventStore
