"""Resolving one captured event: read the graph, decide, write conditionally; on a concurrent change, again.

Idempotent on ``event_id``: the event's timeline row (``TL#<profile>`` / ``<occurred_at>#<event_id>``) is its
idempotency record. It is written on condition that it is not there, after the change's transaction (in it, when
the change records conflicts; see ``DynamoDBProfileStore.commit``), so a redelivered event, which finds the change
made and plans nothing, finds the row and changes nothing. The row is under the profile the event resolved to; if
that profile was merged since, the survivor's ``merged_spans`` say which merged partitions can hold the event's
time, and those are read first. An event without a timeline row (a customer's proof, a staff confirmation) keeps a
``RESOLVED`` item instead. Depends on the ``ResolutionStore`` port, not on DynamoDB.

What an erasure will need (capture's table has no index by identifier: the profiles function names the events):

- an event carrying an identifier that it will not be in a timeline of that identifier's profile for (refused by
  a limit, a split or the asserted-link rule, or blocked) gets a cross-reference per such identifier, written
  *before* the resolution's commit, so a redelivery after a crash (answered ``DUPLICATE``) cannot miss it;
- an event carrying a suppressed identifier (its customer was erased while the event was on its way, or it is a
  late replay) makes capture erase it, or take the identifiers out if another of its identifiers is someone
  else's: asked *after* the resolution (on every outcome, a redelivery too), so that whose else it is is settled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from omnichannel.canonical_event import CanonicalEvent, utc_iso
from omnichannel.identifiers import identifier_digest
from omnichannel.retry import RetriesExhausted, attempts
from profiles.logic.identity_rules import Identifier, IdentityRules
from profiles.logic.ports import AlreadyResolved, ConcurrentChange, GraphView, ResolutionStore
from profiles.logic.resolution import Mode, Plan, event_identifiers, new_profile_id, plan_resolution

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


@dataclass
class _Seen:
    """What one ``resolve`` call learnt on the way: suppressed identifiers (digests) and cross-references written."""

    suppressed: set[str] = field(default_factory=set)
    referenced: set[str] = field(default_factory=set)


class GaveUp(RetriesExhausted):
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
        seen = _Seen()
        resolution = self._resolve(event, identifiers, mode, seen)
        if seen.suppressed and not (mode and mode.synthetic):
            self._store.request_late_erasure(event.event_id, sorted(seen.suppressed), now=self._clock())
        return resolution

    def _reference(
        self, event: CanonicalEvent, identifiers: list[Identifier], view: GraphView, plan: Plan | None, seen: _Seen
    ) -> None:
        """Cross-references for the identifiers the event will not be in their profile's timeline for."""
        held = plan.survivor.identifier_pairs() if plan is not None else set()
        digests = {
            identifier_digest(*item) for item in identifiers if item not in held and item not in view.suppressed
        } - seen.referenced
        if digests:
            profile_id = plan.survivor.profile_id if plan is not None else None
            self._store.record_references(event.event_id, digests, profile_id=profile_id, received_at=event.received_at)
            seen.referenced |= digests

    def _resolve(
        self, event: CanonicalEvent, identifiers: list[Identifier], mode: Mode | None, seen: _Seen
    ) -> Resolution:
        for tried in attempts(self._max_attempts, base=0.02, cap=0.4, sleep=self._sleep):
            attempt = tried + 1
            synthetic = bool(mode and mode.synthetic)  # no timeline row: the RESOLVED item is the record
            view = self._store.read_graph(identifiers, event.event_id, marker=synthetic)
            seen.suppressed = {identifier_digest(*item) for item in view.suppressed}
            if view.already_resolved:
                return Resolution(Outcome.DUPLICATE, attempts=attempt)
            if view.orphans:
                self._store.adopt_orphans(view.orphans)
                continue
            now = self._clock()
            plan = plan_resolution(
                event, view.owners, view.profiles, self._rules, now_iso=utc_iso(now), excluded=view.excluded, mode=mode
            )
            if not (mode and mode.synthetic):
                self._reference(event, identifiers, view, plan, seen)
            if plan is None:
                return Resolution(Outcome.NO_IDENTIFIERS, attempts=attempt)
            if plan.timeline is not None and self._recorded_under_merged(plan):
                return Resolution(Outcome.DUPLICATE, attempts=attempt)
            try:
                if not plan.needs_write:
                    if plan.timeline is not None:
                        self._store.record_timeline(plan.timeline)
                    if plan.survivor.profile_id == new_profile_id(event.event_id):
                        # a copy of this event created the profile (and has not written the row yet)
                        return Resolution(Outcome.DUPLICATE, attempts=attempt)
                    return Resolution(Outcome.UNCHANGED, plan.survivor.profile_id, attempts=attempt, plan=plan)
                self._store.commit(plan, now=now)
            except AlreadyResolved:
                return Resolution(Outcome.DUPLICATE, attempts=attempt)
            except ConcurrentChange:
                continue  # the next attempt waits a jittered while (omnichannel.retry)
            if plan.merged or view.stale:
                self._store.repoint(plan, view.stale)
            blocked = (
                self._store.note_tried(plan.tried, threshold=self._rules.autoblock_after, now=now) if plan.tried else []
            )
            return _resolution(plan, attempt, blocked)
        raise GaveUp(f"event {event.event_id}: {self._max_attempts} concurrent changes in a row")

    def _recorded_under_merged(self, plan: Plan) -> bool:
        """Whether the event's row is in the partition of a profile merged into the survivor since it was resolved
        (read only for the merged profiles whose partition can hold the event's time: rare)."""
        assert plan.timeline is not None
        occurred_at = plan.timeline.occurred_at
        candidates = sorted(pid for pid, bound in plan.survivor.merged_spans.items() if bound >= occurred_at)
        return bool(candidates) and self._store.recorded_in(plan.timeline, candidates)


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
