"""Resolving one captured event: read the graph, decide, write conditionally; on a concurrent change, again.

Idempotent on ``event_id``: the change and the event's ``RESOLVED`` item are written in one transaction, so a
redelivered event finds the item and changes nothing; an event that changed nothing writes only its timeline row
(and resolving it again writes the same row). Depends on the ``ResolutionStore`` port, not on DynamoDB.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnichannel.canonical_event import CanonicalEvent, utc_iso
from profiles.logic.identity_rules import Identifier, IdentityRules
from profiles.logic.ports import AlreadyResolved, ConcurrentChange, ResolutionStore
from profiles.logic.resolution import Mode, Plan, event_identifiers, plan_resolution

MAX_ATTEMPTS = 12


class Outcome(StrEnum):
    NO_IDENTIFIERS = "no_identifiers"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    CREATED = "created"
    UPDATED = "updated"
    MERGED = "merged"


@dataclass(frozen=True)
class Resolution:
    outcome: Outcome
    profile_id: str | None = None
    merged_ids: tuple[str, ...] = ()
    conflicts: int = 0
    attempts: int = 1
    suggestions: int = 0
    blocked: tuple[Identifier, ...] = ()  # values this resolution blocked for being on too many profiles
    plan: Plan | None = None


class GaveUp(Exception):
    """Too many concurrent changes in a row; the bus delivery is retried."""


class ProfileResolver:
    def __init__(
        self,
        store: ResolutionStore,
        rules: IdentityRules,
        clock: Callable[[], datetime],
        *,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._rules = rules
        self._clock = clock
        self._max_attempts = max_attempts
        self._sleep = sleep

    def resolve(self, event: CanonicalEvent, *, mode: Mode | None = None) -> Resolution:
        identifiers = [item for item in event_identifiers(event) if not self._rules.is_blocked(*item)]
        if not identifiers:
            return Resolution(Outcome.NO_IDENTIFIERS)
        for attempt in range(1, self._max_attempts + 1):
            view = self._store.read_graph(identifiers, event.event_id)
            if view.already_resolved:
                return Resolution(Outcome.DUPLICATE, attempts=attempt)
            if view.orphans:
                self._store.adopt_orphans(view.orphans)
                continue
            now = self._clock()
            plan = plan_resolution(
                event, view.owners, view.profiles, self._rules, now_iso=utc_iso(now), excluded=view.excluded, mode=mode
            )
            if plan is None:
                return Resolution(Outcome.NO_IDENTIFIERS, attempts=attempt)
            if not plan.needs_write:
                if plan.timeline is not None:
                    self._store.record_timeline(plan.timeline)
                return Resolution(Outcome.UNCHANGED, plan.survivor.profile_id, attempts=attempt, plan=plan)
            try:
                self._store.commit(plan, now=now)
            except AlreadyResolved:
                return Resolution(Outcome.DUPLICATE, attempts=attempt)
            except ConcurrentChange:
                # Full jitter: two resolvers that collided should not collide again in step.
                self._sleep(random.uniform(0, min(0.4, 0.01 * 2**attempt)))  # noqa: S311 - not cryptographic
                continue
            if plan.merged or view.stale:
                self._store.repoint(plan, view.stale)
            blocked = (
                self._store.note_tried(plan.tried, threshold=self._rules.autoblock_after, now=now) if plan.tried else []
            )
            return _resolution(plan, attempt, blocked)
        raise GaveUp(f"event {event.event_id}: {self._max_attempts} concurrent changes in a row")


def _resolution(plan: Plan, attempts: int, blocked: list[Identifier]) -> Resolution:
    if plan.created:
        outcome = Outcome.CREATED
    elif plan.merged:
        outcome = Outcome.MERGED
    else:
        outcome = Outcome.UPDATED
    return Resolution(
        outcome,
        plan.survivor.profile_id,
        tuple(profile.profile_id for profile in plan.merged),
        len(plan.conflicts),
        attempts,
        suggestions=len({match.other_id for match in plan.suggestions}),
        blocked=tuple(blocked),
        plan=plan,
    )
