"""The outbox relay: publishes events that were stored but did not reach the bus (PutEvents kept failing,
or the function stopped between storing and publishing). Runs on a schedule; entries younger than the grace
period belong to requests still in flight and are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from capture.logic.capture_service import EventStore, OutboxEntry, publish_and_settle
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.event_bus import EventPublisher


class OutboxStore(EventStore, Protocol):
    def due_outbox_entries(self, older_than: datetime, limit: int = 100) -> list[OutboxEntry]: ...

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]: ...


@dataclass(frozen=True)
class RelayResult:
    entries: int
    published: int
    still_unpublished: int


def relay_outbox(store: OutboxStore, publisher: EventPublisher, *, now: datetime, grace: timedelta) -> RelayResult:
    entries = store.due_outbox_entries(now - grace)
    published = unpublished = 0
    for entry in entries:
        events = store.load_events(entry.event_ids)
        found = {event.event_id for event in events}
        # An id whose event is gone (erased since) has nothing left to publish.
        settled = OutboxEntry(pk=entry.pk, sk=entry.sk, event_ids=tuple(sorted(found)))
        failed = publish_and_settle(store, publisher, events, [settled])
        published += len(events) - len(failed)
        unpublished += len(failed)
    return RelayResult(entries=len(entries), published=published, still_unpublished=unpublished)
