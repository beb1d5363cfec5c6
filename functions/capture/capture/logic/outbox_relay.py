"""The outbox relay: publishes events that were stored but whose publication kept failing. Runs on a schedule.
Entries younger than the grace period are left alone (the stream publisher may still be retrying them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from capture.logic.capture_service import OutboxEntry, OutboxStore, publish
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.event_bus import EventPublisher


class RelayStore(OutboxStore, Protocol):
    def due_outbox_entries(self, older_than: datetime, limit: int = 100) -> list[OutboxEntry]: ...

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]: ...


@dataclass(frozen=True)
class RelayResult:
    entries: int
    published: int
    still_unpublished: int


def relay_outbox(store: RelayStore, publisher: EventPublisher, *, now: datetime, grace: timedelta) -> RelayResult:
    entries = store.due_outbox_entries(now - grace)
    published = unpublished = 0
    for entry in entries:
        events = store.load_events(entry.event_ids)  # an id whose event is gone (erased since) is dropped
        failed = publish(publisher, events)
        store.settle_outbox(entry, failed)
        published += len(events) - len(failed)
        unpublished += len(failed)
    return RelayResult(entries=len(entries), published=published, still_unpublished=unpublished)
