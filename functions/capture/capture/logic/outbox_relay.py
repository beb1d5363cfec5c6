"""The outbox relay: publishes events that were stored but whose publication kept failing. Runs on a schedule.

Entries younger than the grace period are left alone (the stream publisher may still be retrying them). Each
run reads at most ``budget`` due entries, the oldest first, and settles every one it reads, so the queue always
moves on:

- what the bus takes is done;
- what still fails for a passing reason is **moved forward**: written again under a later ``sk`` (this run's
  time plus the backoff: 1 minute after the first failed attempt, doubling, at most 1 hour) with its attempt
  count, and the old entry deleted. It is due again once the backoff and the grace period have passed, and
  no longer stands in front of the entries behind it;
- what the bus refuses for good (``PERMANENT_ERRORS``: malformed, too large), an event this version cannot read,
  and what still fails after ``MAX_RELAY_ATTEMPTS`` attempts (about six hours) goes to the **dead-letter
  partition**, which the relay does not read; the handler logs it as an error and counts it
  (``OutboxDeadLettered``) for an alarm.

New entries are written before the old one is deleted: a crash in between publishes an event twice at worst,
which consumers allow for (they are idempotent on ``event_id``), and never loses one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from capture.logic.capture_service import OutboxEntry, OutboxStore, dead_letter_by_reason, publish
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.event_bus import EventPublisher

RELAY_BUDGET = 200  # due entries one run reads at most
MAX_RELAY_ATTEMPTS = 12
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
UNDECODABLE = "Undecodable"  # the reason of a dead letter whose stored event this version cannot read


class RelayStore(OutboxStore, Protocol):
    def due_outbox_entries(self, older_than: datetime, limit: int = RELAY_BUDGET) -> list[OutboxEntry]:
        """Up to ``limit`` entries whose ``sk`` is older than ``older_than`` (never a dead letter)."""
        ...

    def remove_from_outbox(self, entry: OutboxEntry) -> None: ...

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]: ...


@dataclass
class RelayResult:
    entries: int = 0
    published: int = 0
    still_unpublished: int = 0  # moved forward for another attempt
    dead_lettered: dict[str, str] = field(default_factory=dict)  # event_id -> reason
    errors: list[str] = field(default_factory=list)  # entries that could not be relayed: "<sk>: <error type>"


def backoff(attempts: int) -> timedelta:
    """How long an entry waits after its ``attempts``-th failed attempt: 1 min, 2, 4 ... at most 1 h."""
    doublings: int = min(max(attempts - 1, 0), 16)
    return min(FIRST_BACKOFF * (1 << doublings), MAX_BACKOFF)


def relay_outbox(
    store: RelayStore,
    publisher: EventPublisher,
    *,
    now: datetime,
    grace: timedelta,
    budget: int = RELAY_BUDGET,
    max_attempts: int = MAX_RELAY_ATTEMPTS,
    out_of_time: Callable[[], bool] = lambda: False,
) -> RelayResult:
    """Relay up to ``budget`` due entries; stops early when ``out_of_time()`` (the rest stay due)."""
    entries = store.due_outbox_entries(now - grace, limit=budget)
    result = RelayResult(entries=len(entries))
    for entry in entries:
        if out_of_time():
            break
        try:
            _relay(store, publisher, entry, now, max_attempts, result)
        except Exception as error:
            # Whatever broke (the table, an entry the store cannot load), the entry still moves forward, so a
            # poisoned one ends in the dead-letter partition instead of being tried every run. If the table
            # itself is failing, that fails too and the entry stays due for the next run.
            result.errors.append(f"{entry.sk}: {type(error).__name__}")
            failed = dict.fromkeys(entry.event_ids, type(error).__name__)
            with contextlib.suppress(Exception):
                _settle(store, entry, failed, {}, now=now, max_attempts=max_attempts, result=result)
    return result


def _relay(
    store: RelayStore,
    publisher: EventPublisher,
    entry: OutboxEntry,
    now: datetime,
    max_attempts: int,
    result: RelayResult,
) -> None:
    events, undecodable = _load(store, entry.event_ids)  # an id whose event is gone (erased since) is dropped
    publication = publish(publisher, events)
    result.published += len(publication.published)
    refused = {event_id: UNDECODABLE for event_id in undecodable} | publication.refused
    _settle(store, entry, publication.retry, refused, now=now, max_attempts=max_attempts, result=result)


def _settle(
    store: RelayStore,
    entry: OutboxEntry,
    retry: dict[str, str],
    refused: dict[str, str],
    *,
    now: datetime,
    max_attempts: int,
    result: RelayResult,
) -> None:
    """Move what may still pass forward, dead-letter the rest, then delete the entry."""
    attempts = entry.attempts + 1
    dead = dict(refused)
    if retry and attempts >= max_attempts:
        dead |= retry
        retry = {}
    if retry:
        store.add_to_outbox(sorted(retry), due=now + backoff(attempts), attempts=attempts)
    dead_letter_by_reason(store, dead, attempts=attempts)
    store.remove_from_outbox(entry)
    result.still_unpublished += len(retry)
    result.dead_lettered |= dead


def _load(store: RelayStore, event_ids: Sequence[str]) -> tuple[list[CanonicalEvent], list[str]]:
    """The events, and the ids of those stored in a shape this version cannot read (loaded one by one to tell)."""
    try:
        return store.load_events(event_ids), []
    except (ValueError, KeyError):  # pydantic's ValidationError and json's errors are ValueErrors
        if len(event_ids) == 1:
            return [], list(event_ids)
    events: list[CanonicalEvent] = []
    undecodable: list[str] = []
    for event_id in event_ids:
        try:
            events.extend(store.load_events([event_id]))
        except (ValueError, KeyError):
            undecodable.append(event_id)
    return events, undecodable
