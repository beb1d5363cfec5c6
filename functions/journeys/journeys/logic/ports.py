"""What the journey service needs from the outside world; ``journeys.dal`` implements it (DynamoDB, and an
in-memory twin for tests and simulations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from journeys.models.state import Change, CustomerFacts, CustomerState, Delivery, Profile, Run


class Conflict(Exception):
    """Someone else changed this customer since it was read: read again and decide again."""


@dataclass(frozen=True)
class DueItem:
    """A run whose wait has come (``kind`` ``run``) or an effect still to announce (``kind`` ``effect``)."""

    kind: str
    profile_id: str
    key: str  # the journey id of a run, the event id of an effect


@dataclass(frozen=True)
class StoredEffect:
    event_id: str
    profile_id: str
    kind: str
    journey_id: str
    step_id: str
    detail_type: str
    detail: dict[str, Any]
    created_at: str
    channel: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    published_at: str | None = None
    delivery: Delivery | None = None  # a message's end, once outbound announced it


class JourneyStore(Protocol):
    def load(self, profile_id: str) -> CustomerState: ...

    def commit(
        self,
        state: CustomerState,
        change: Change,
        *,
        event_id: str | None,
        now: datetime,
        retire: CustomerState | None = None,
    ) -> bool:
        """Write ``change`` in one transaction, conditional on the revisions in ``state`` (``Conflict`` when one
        moved). ``event_id``: remembered with the change; ``False`` (and nothing written) when it was already.
        ``retire``: a customer merged into this one, whose runs and facts go in the same transaction."""
        ...

    def restore(
        self,
        survivor: CustomerState,
        restored: CustomerState,
        *,
        runs: Sequence[Run],
        keep: Mapping[str, Run],
        effects: Sequence[StoredEffect],
        facts: CustomerFacts | None,
        event_id: str,
        now: datetime,
    ) -> bool:
        """An undone merge, in one transaction: delete ``runs`` (as read) and ``effects`` from ``survivor``; write
        ``keep`` (runs, absent so far), the same ``effects`` (announced or not, as they were) and ``facts`` (when
        given, absent so far) under ``restored``. ``False`` when ``event_id`` was already applied; ``Conflict`` when
        either customer changed since read."""
        ...

    def mark_published(self, profile_id: str, event_ids: Sequence[str], now: datetime) -> None: ...

    def due(self, now: datetime, limit: int) -> list[DueItem]: ...

    def effect(self, profile_id: str, event_id: str) -> StoredEffect | None: ...

    def effects(self, profile_id: str) -> list[StoredEffect]: ...

    def record_delivery(self, profile_id: str, effect: StoredEffect, delivery: Delivery, counter: str) -> bool:
        """Write how ``effect`` (a message) ended and add one to its journey's ``counter``, in one transaction, if
        no end is recorded yet (the first end stands: a redelivered or re-published event changes nothing, a sent
        message never turns failed). ``False`` (nothing written) when one was, or the effect is gone (erased)."""
        ...

    def erase(self, profile_ids: Sequence[str]) -> int:
        """Delete everything kept of these customers (runs, facts, effects, dedupe marks); how many items."""
        ...

    def counters(self, journey_id: str) -> dict[str, int]: ...


class Customers(Protocol):
    """The profiles function's table, read-only."""

    def profile_of(self, identifiers: Mapping[str, str]) -> str | None:
        """The (surviving) profile holding one of these identifiers, strongest first."""
        ...

    def survivor_of(self, profile_id: str) -> str | None: ...

    def profile(self, profile_id: str) -> Profile | None: ...
