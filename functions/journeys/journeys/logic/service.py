"""The journey service: a batch of bus events, the due sweep and survey links, each applied exactly once per
customer (read, decide with the engine, write in one conditional transaction, announce, mark announced).

- **Exactly once**: the transaction holds a mark of the event (``Conflict``-free redelivery finds it and changes
  nothing), the runs and facts conditional on the revisions read (a concurrent change makes it read and decide
  again), and each effect under its stable id. A due run is woken by the same conditional write, so two sweeps
  take a step once.
- **Announcing**: effects are published after the write and then marked; one whose publication failed (or whose
  worker died in between) is still due in the sweep, two minutes later, and is published again with the same
  event id (consumers are idempotent on it).
- **Deliveries**: outbound's ``message.sent`` / ``message.failed`` of a journey's message are written on the
  effect that asked for it (one conditional transaction with the funnel's counter: the first end stands); a
  message the journeys do not know (erased, expired, another stack's) is counted ``unknown_message`` and done.
- **Batches**: ``handle`` takes a list of EventBridge events (one today, from an ``EventBridgeRule``; an SQS
  batch later) and answers the ids of those that failed and should be delivered again (e.g. an event whose
  customer the profiles function has not resolved yet). A malformed event is dropped, never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from journeys.logic import delivery, surveys
from journeys.logic.clock import iso
from journeys.logic.engine import Engine
from journeys.logic.inbound import Delivered, Erase, Ignore, Merge, React, Unmerge, command_for
from journeys.logic.merge import (
    effects_to_restore,
    merge_states,
    restored_facts,
    restored_runs,
    runs_to_restore,
)
from journeys.logic.ports import Conflict, Customers, JourneyStore
from journeys.models.definition import SegmentTrigger
from journeys.models.state import Change, CustomerState, Effect
from journeys.models.stimulus import Stimulus, StimulusKind
from omnichannel.event_bus import BusEvent, EventPublisher
from omnichannel.journey_events import JOURNEYS_SOURCE

MAX_ATTEMPTS = 8
UNRESOLVED_RETRY_WINDOW = timedelta(minutes=15)  # how long an event may wait for its customer's profile


class NotResolvedYet(Exception):
    """The event's customer has no profile yet (profiles resolves the same event in parallel): retry later."""


@dataclass
class BatchResult:
    outcomes: dict[str, str] = field(default_factory=dict)  # envelope id -> applied | unchanged | duplicate ...
    failed: list[str] = field(default_factory=list)  # envelope ids to deliver again


@dataclass
class SweepResult:
    woken: int = 0
    republished: int = 0
    customers: int = 0
    left: bool = False  # more was due than this invocation had time for


class JourneyService:
    def __init__(
        self,
        engine: Engine,
        store: JourneyStore,
        customers: Customers,
        publisher: EventPublisher,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.store = store
        self.customers = customers
        self.publisher = publisher
        self.clock = clock
        self._names = engine.registry.event_names()
        self._segments = [d for d in engine.registry.accepting() if isinstance(d.trigger, SegmentTrigger)]
        self._segment_traits = {name for d in self._segments for name in d.trait_names()}

    # ------------------------------------------------------------------ the bus
    def handle(self, envelopes: Sequence[dict[str, Any]]) -> BatchResult:
        result = BatchResult()
        for envelope in envelopes:
            envelope_id = str(envelope.get("id") or "")
            try:
                result.outcomes[envelope_id] = self.handle_one(envelope)
            except (ValidationError, ValueError) as error:
                result.outcomes[envelope_id] = f"dropped:{type(error).__name__}"
            except NotResolvedYet:
                result.outcomes[envelope_id] = "not_resolved_yet"
                result.failed.append(envelope_id)
        return result

    def handle_one(self, envelope: dict[str, Any]) -> str:
        command = command_for(envelope, self._names)
        if isinstance(command, Ignore):
            return "ignored"
        if isinstance(command, Erase):
            removed = self.store.erase(command.profile_ids)
            return f"erased:{removed}"
        if isinstance(command, Merge):
            return self._merge(command)
        if isinstance(command, Unmerge):
            return self._unmerge(command)
        if isinstance(command, Delivered):
            return self._delivered(command)
        return self._react(command)

    def _delivered(self, command: Delivered) -> str:
        """``delivery_recorded``, ``delivery_known`` (recorded before: a redelivery) or ``unknown_message``. The
        effect is under the profile the message was requested for; a merge leaves it there, else it is looked for
        under the survivor."""
        effect_id = delivery.effect_id_of(command.message_id)
        candidates = [command.profile_id]
        survivor = self.customers.survivor_of(command.profile_id)
        if survivor is not None and survivor != command.profile_id:
            candidates.append(survivor)
        for profile_id in candidates:
            effect = self.store.effect(profile_id, effect_id)
            if effect is None:
                continue
            if not delivery.recordable(effect):
                return "delivery_known"
            recorded = self.store.record_delivery(
                profile_id, effect, command.delivery, delivery.counter_of(command.delivery)
            )
            return "delivery_recorded" if recorded else "delivery_known"
        return "unknown_message"

    def _react(self, command: React) -> str:
        stimulus = command.stimulus
        if stimulus.kind is StimulusKind.PROFILE and not self._cares_about_profile(stimulus):
            return "ignored"
        profile_id = (
            self.customers.survivor_of(command.profile_id)
            if command.profile_id
            else self.customers.profile_of(command.identifiers)
        )
        if profile_id is None:
            # Only an event that would start a journey waits for its profile: without a profile there is no run for
            # a goal, an exit, a wait or an answer to concern.
            if command.identifiers and self._recent(stimulus) and self.engine.starts_any(stimulus):
                raise NotResolvedYet(stimulus.event_id)
            return "no_profile"
        loader = self._loader(profile_id)
        return self.apply(
            profile_id, lambda state, now: self.engine.react(state, stimulus, now, loader), event_id=stimulus.event_id
        )

    def _cares_about_profile(self, stimulus: Stimulus) -> bool:
        if not self._segments:
            return False
        return stimulus.name == "profile.created" or bool(set(stimulus.changed_traits) & self._segment_traits)

    def _recent(self, stimulus: Stimulus) -> bool:
        return stimulus.occurred_at >= iso(self.clock() - UNRESOLVED_RETRY_WINDOW)

    def _loader(self, profile_id: str) -> Callable[[], Any]:
        return lambda: self.customers.profile(profile_id)

    def apply(
        self,
        profile_id: str,
        decide: Callable[[CustomerState, datetime], Change],
        *,
        event_id: str | None,
    ) -> str:
        """Read, decide, write (again on a conflict), announce. ``applied``, ``unchanged`` or ``duplicate``."""
        for _ in range(MAX_ATTEMPTS):
            now = self.clock()
            state = self.store.load(profile_id)
            change = decide(state, now)
            if change.empty:
                return "unchanged"
            try:
                if not self.store.commit(state, change, event_id=event_id, now=now):
                    return "duplicate"
            except Conflict:
                continue
            self.announce(profile_id, change.effects)
            return "applied"
        raise Conflict(f"{profile_id}: still changing after {MAX_ATTEMPTS} attempts")

    def announce(self, profile_id: str, effects: Sequence[Effect]) -> int:
        if not effects:
            return 0
        result = self.publisher.publish(
            [BusEvent(effect.event_id, JOURNEYS_SOURCE, effect.detail_type, effect.detail) for effect in effects]
        )
        if result.published:
            self.store.mark_published(profile_id, result.published, self.clock())
        return len(result.published)

    def _merge(self, command: Merge) -> str:
        for _ in range(MAX_ATTEMPTS):
            now = self.clock()
            merged = self.store.load(command.merged_id)
            if not merged.runs and merged.facts.revision == 0:
                return "unchanged"
            survivor = self.store.load(command.survivor_id)
            change = merge_states(survivor, merged)
            try:
                if not self.store.commit(survivor, change, event_id=command.event_id, now=now, retire=merged):
                    return "duplicate"
            except Conflict:
                continue
            return "merged"
        raise Conflict(f"{command.merged_id}: still changing after {MAX_ATTEMPTS} attempts")

    def _unmerge(self, command: Unmerge) -> str:
        for _ in range(MAX_ATTEMPTS):
            survivor = self.store.load(command.survivor_id)
            runs = runs_to_restore(survivor, command.restored_id)
            if not runs:
                return "unchanged"
            restored = self.store.load(command.restored_id)
            try:
                done = self.store.restore(
                    survivor,
                    restored,
                    runs=runs,
                    keep=restored_runs(restored, runs),
                    effects=effects_to_restore(self.store.effects(command.survivor_id), runs),
                    facts=restored_facts(survivor.facts, restored.facts),
                    event_id=command.event_id,
                    now=self.clock(),
                )
            except Conflict:
                continue
            return "restored" if done else "duplicate"
        raise Conflict(f"{command.restored_id}: still changing after {MAX_ATTEMPTS} attempts")

    # ------------------------------------------------------------------ the sweep
    def sweep(self, *, limit: int = 1000, time_left: Callable[[], float] | None = None) -> SweepResult:
        """Wake the runs whose time has come and announce effects left unannounced; oldest first."""
        result = SweepResult()
        now = self.clock()
        items = self.store.due(now, limit)
        result.left = len(items) >= limit
        customers: dict[str, None] = {}
        for item in items:
            if item.kind == "run":
                customers.setdefault(item.profile_id, None)
            elif item.kind == "effect":
                effect = self.store.effect(item.profile_id, item.key)
                if effect is not None and effect.published_at is None:
                    published = self.publisher.publish(
                        [BusEvent(effect.event_id, JOURNEYS_SOURCE, effect.detail_type, effect.detail)]
                    )
                    if published.published:
                        self.store.mark_published(item.profile_id, published.published, self.clock())
                        result.republished += 1
        for profile_id in customers:
            if time_left is not None and time_left() < 2.0:
                result.left = True
                break
            outcome = self.apply(profile_id, self._waker(profile_id), event_id=None)
            result.customers += 1
            result.woken += outcome == "applied"
        return result

    def _waker(self, profile_id: str) -> Callable[[CustomerState, datetime], Change]:
        loader = self._loader(profile_id)
        return lambda state, moment: self.engine.wake(state, moment, loader)

    # ------------------------------------------------------------------ survey links
    def answer_link(self, token: str, score: int, key: bytes) -> str:
        """A one-click answer: ``answered``, ``already_answered``, ``closed``; ``BadLink`` when not ours."""
        claim = surveys.verify(token, key, self.clock())
        low, high = surveys.scale(claim.kind)
        if not low <= score <= high:
            raise surveys.OffScale(f"from {low} to {high} for this question")
        profile_id = self.customers.survivor_of(claim.profile_id) or claim.profile_id
        outcome = ["closed"]

        def decide(state: CustomerState, now: datetime) -> Change:
            change, outcome[0] = self.engine.answer_link(state, claim, score, now, self._loader(profile_id))
            return change

        self.apply(profile_id, decide, event_id=None)
        return outcome[0]
