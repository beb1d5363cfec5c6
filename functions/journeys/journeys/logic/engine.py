"""The journey engine: what one stimulus (a bus event, a due wait, a survey link) does to one customer (pure).

Input: the customer's state as read (their runs, one per journey, and what this function remembers about them),
the stimulus, the time, and a loader for the profile (read only when a step needs it). Output: a ``Change`` (runs
and facts to write, effects to announce, counters to add) that the service commits in one transaction,
conditional on the revisions read. Nothing here writes, publishes or reads a clock.

Per stimulus, in order:

1. **Consent and facts**: a STOP (SMS or WhatsApp) records the opt-out and ends every run of the customer at
   once (``exited``/``stop``); a START records the opt-in. ``lifecycle.changed`` refreshes the KPI facts, and
   events that branches ask "seen?" about refresh their last time.
2. **Survey answers**: a reply on the channel an open question went out on, holding a score on its scale (see
   ``journeys.logic.surveys``), or a ``Survey Answered`` from the tracking API, answers it and the run goes on.
3. **Running customers**: a goal event converts (both groups; a held-out customer's conversion is what lift
   compares with), an ``exit_on`` event ends the run, an awaited event ends a wait.
4. **Entries**: journeys whose trigger matches take the customer in, by their re-entry rule; the holdout share
   (stable per customer) is held out, the others start at the first step.

Steps run until one waits: ``wait`` sets when it is due; ``send`` and ``survey`` pick the channel, wait out quiet
hours (the send is due at the window's end and is decided again then: consent may have changed overnight),
respect the frequency cap, and request the message; a survey then waits for its answer until ``answer_within``;
``branch`` jumps; ``agent_task``, ``reward`` and ``store_offer`` announce; ``exit`` ends. Every step a run enters
adds one to the run's ``seq``: the ids of a step's effects are made of journey, customer, run, step and ``seq``,
and the write that records the step is conditional on the run's revision, so a step is taken (and announced)
once.

Conversion is counted per entry, in both groups, whatever ended the run (intention to treat): a customer who sent
STOP after entering still counts in the group they were assigned to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from journeys.logic import contact, surveys, templates
from journeys.logic.clock import iso, parse
from journeys.logic.conditions import Facts, cooldown_over, holds, seen_key
from journeys.logic.durations import parse_duration
from journeys.logic.holdout import held_out
from journeys.logic.matching import filter_holds
from journeys.logic.registry import MESSAGE_RECEIVED, SURVEY_ANSWERED, Registry
from journeys.models.definition import (
    AgentTaskStep,
    BranchStep,
    CartAbandonedTrigger,
    EventMatch,
    EventTrigger,
    ExitStep,
    JourneyDefinition,
    LifecycleTrigger,
    MessageChannel,
    RewardStep,
    SegmentTrigger,
    SendStep,
    StoreOfferStep,
    SurveyStep,
    WaitStep,
    tests_of,
)
from journeys.models.state import (
    Change,
    CustomerFacts,
    CustomerState,
    Effect,
    Group,
    OpenSurvey,
    Profile,
    Run,
    RunStatus,
    SurveyAnswer,
)
from journeys.models.stimulus import Stimulus, StimulusKind
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.cart_events import CartAbandoned
from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.identifiers import IdentifierType, Provenance
from omnichannel.journey_events import (
    AgentTaskRequested,
    JourneyEventType,
    JourneyMessageRequested,
    RewardGranted,
    StoreOfferRequested,
    journey_event_id,
)

MAX_STEPS_PER_TRANSITION = 60  # steps only jump forward and a journey has at most 50
MAX_TOUCHPOINT_PROPERTIES_BYTES = 4096
MAX_CART_BYTES = 65536
FOLLOW_UP_BUCKETS = ((3600, "le_1h"), (4 * 3600, "le_4h"), (86400, "le_1d"))
KPI_FIELDS = ("stage", "previous_stage", "frequency", "monetary", "recency_days", "currency")
ProfileLoader = Callable[[], Profile | None]


@dataclass(frozen=True)
class Policy:
    """The stack's settings the engine applies."""

    quiet_hours: str = "21:00-09:00"
    frequency_cap: str = "3/7d"
    business_time_zone: str = "Europe/Istanbul"
    survey_link_base_url: str = ""
    survey_link_key: bytes = b""
    survey_link_grace: timedelta = timedelta(days=1)  # a link still answers this long after the question closed


class _Transition:
    """One customer's change under construction."""

    def __init__(self, state: CustomerState, now: datetime, load_profile: ProfileLoader) -> None:
        self.state = state
        self.now = now
        self.at = iso(now)
        self.change = Change()
        self.runs = dict(state.runs)
        self.facts = state.facts
        self._load_profile = load_profile
        self._profile: Profile | None = None
        self._profile_loaded = False
        self.current_event_id: str | None = None

    @property
    def profile(self) -> Profile | None:
        if not self._profile_loaded:
            self._profile = self._load_profile()
            self._profile_loaded = True
        return self._profile

    def reach(self) -> contact.Reach:
        return contact.reach(self.profile, self.facts.consent)

    def put(self, run: Run) -> Run:
        self.runs[run.journey_id] = run
        self.change.runs[run.journey_id] = run
        return run

    def set_facts(self, facts: CustomerFacts) -> None:
        self.facts = facts
        self.change.facts = facts


class Engine:
    def __init__(self, registry: Registry, policy: Policy | None = None) -> None:
        self.registry = registry
        self.policy = policy or Policy()
        self.cap = FrequencyCap.parse(self.policy.frequency_cap)
        self._seen = [
            (seen_key(condition.event_seen), condition)
            for definition in (d for versions in registry.versions.values() for d in versions.values())
            for step in definition.steps
            if isinstance(step, BranchStep)
            for condition in _conditions(step)
            if condition.event_seen is not None
        ]

    # ------------------------------------------------------------------ entry points
    def react(self, state: CustomerState, stimulus: Stimulus, now: datetime, load_profile: ProfileLoader) -> Change:
        """What a bus event does to this customer's journeys."""
        tx = _Transition(state, now, load_profile)
        tx.current_event_id = stimulus.event_id
        self._remember(tx, stimulus)
        if stimulus.consent is not None and not stimulus.consent.opted_in:
            self._stop(tx)
            return tx.change
        answered = self._answer_from_event(tx, stimulus)
        entered: set[str] = set()
        if not answered:
            self._running(tx, stimulus)
            entered = self._entries(tx, stimulus)
        self._segments(tx, stimulus, entered)
        return tx.change

    def wake(self, state: CustomerState, now: datetime, load_profile: ProfileLoader) -> Change:
        """Runs whose wait, deferred send or survey deadline has come."""
        tx = _Transition(state, now, load_profile)
        for run in list(tx.runs.values()):
            if run.open and run.due_at is not None and run.due_at <= tx.at:
                self._advance(tx, run)
        return tx.change

    def answer_link(
        self, state: CustomerState, claim: surveys.LinkClaim, score: int, now: datetime, load_profile: ProfileLoader
    ) -> tuple[Change, str]:
        """A signed one-click answer: ``answered``, ``already_answered`` or ``closed``."""
        tx = _Transition(state, now, load_profile)
        run = tx.runs.get(claim.journey_id)
        if run is None or run.run != claim.run:
            return tx.change, "closed"
        previous = run.answer(claim.step_id)
        if previous is not None:
            return tx.change, "already_answered"
        survey = run.survey
        if not run.open or survey is None or survey.step_id != claim.step_id:
            return tx.change, "closed"
        self._record_answer(tx, run, survey, score, via="link")
        return tx.change, "answered"

    def starts_any(self, stimulus: Stimulus) -> bool:
        """Whether this event would start some journey (for a customer who may enter it)."""
        return any(self._triggered(definition, stimulus) for definition in self.registry.accepting())

    # ------------------------------------------------------------------ 1. facts
    def _remember(self, tx: _Transition, stimulus: Stimulus) -> None:
        facts = tx.facts
        if stimulus.consent is not None and stimulus.channel:
            current = facts.consent.get(stimulus.channel)
            if current is None or current.at <= stimulus.consent.at:
                facts = replace(facts, consent={**facts.consent, stimulus.channel: stimulus.consent})
        if stimulus.kind is StimulusKind.LIFECYCLE and stimulus.occurred_at >= str(facts.kpis.get("at", "")):
            kpis = {name: stimulus.document.get(name) for name in KPI_FIELDS if stimulus.document.get(name) is not None}
            facts = replace(facts, kpis={**kpis, "at": stimulus.occurred_at})
        if stimulus.kind is StimulusKind.CAPTURED:
            seen = dict(facts.seen)
            for key, condition in self._seen:
                assert condition.event_seen is not None
                match = condition.event_seen
                if (
                    match.event == stimulus.name
                    and filter_holds(stimulus.document, tests_of(match.where))
                    and seen.get(key, "") < stimulus.occurred_at
                ):
                    seen[key] = stimulus.occurred_at
            if seen != facts.seen:
                facts = replace(facts, seen=seen)
        if facts != tx.facts:
            tx.set_facts(facts)

    def _stop(self, tx: _Transition) -> None:
        """STOP: every journey of this customer ends at once."""
        for run in list(tx.runs.values()):
            if run.status in (RunStatus.ACTIVE, RunStatus.HELD_OUT) and run.ended_at is None:
                self._end(tx, run, RunStatus.EXITED, "stop")

    # ------------------------------------------------------------------ 2. survey answers
    def _answer_from_event(self, tx: _Transition, stimulus: Stimulus) -> bool:
        if stimulus.kind is not StimulusKind.CAPTURED:
            return False
        candidates = [
            run for run in tx.runs.values() if run.open and run.survey is not None and run.survey.until >= tx.at
        ]
        candidates.sort(key=lambda run: run.survey.asked_at if run.survey else "", reverse=True)
        if stimulus.name == MESSAGE_RECEIVED and stimulus.consent is None:
            for run in candidates:
                survey = run.survey
                assert survey is not None
                if survey.asked_on != stimulus.channel:
                    continue
                score = surveys.score_from_reply(stimulus.text, survey.kind)
                if score is not None:
                    self._record_answer(tx, run, survey, score, via="reply", at=stimulus.occurred_at)
                    return True
        if stimulus.name == SURVEY_ANSWERED and stimulus.answer is not None:
            answer = stimulus.answer
            for run in candidates:
                survey = run.survey
                assert survey is not None
                if survey.kind != answer.kind or (answer.journey_id and answer.journey_id != run.journey_id):
                    continue
                if answer.step_id and answer.step_id != survey.step_id:
                    continue
                self._record_answer(tx, run, survey, answer.score, via="tracking", at=stimulus.occurred_at)
                return True
        return False

    def _record_answer(
        self, tx: _Transition, run: Run, survey: OpenSurvey, score: int, *, via: str, at: str | None = None
    ) -> None:
        # When it was answered: the event's time, unless it is not between the question and now (a clock off)
        answered_at = at if at is not None and survey.asked_at <= at <= tx.at else tx.at
        answer = SurveyAnswer(survey.step_id, survey.kind, score, answered_at, via, survey.asked_on, survey.touchpoint)
        low = surveys.is_low(survey.kind, score)
        run = tx.put(
            replace(
                run,
                survey=None,
                due_at=None,
                answers=(*run.answers, answer),
                detractor_at=answered_at if low else run.detractor_at,
            )
        )
        tx.change.count(run.journey_id, "survey:answered")
        tx.change.count(run.journey_id, f"survey:{survey.kind}:{surveys.category(survey.kind, score)}")
        tx.change.count(run.journey_id, f"survey:{survey.kind}:score_sum", score)
        if low:
            tx.change.count(run.journey_id, "survey:low")
        if via != "tracking":  # a tracking-API answer is on the bus already (capture announced it)
            tx.change.effects.append(self._survey_answered(tx, run, answer))
        definition = self._definition(tx, run)
        if definition is None:
            return
        target = definition.after(survey.step_id)
        self._move_and_advance(tx, run, definition, target)

    # ------------------------------------------------------------------ 3. running customers
    def _running(self, tx: _Transition, stimulus: Stimulus) -> None:
        if stimulus.kind is not StimulusKind.CAPTURED:
            return
        for run in list(tx.runs.values()):
            if run.trigger.get("event_id") == stimulus.event_id:
                continue  # the event that started a run is neither its goal nor its exit
            definition = self.registry.for_run(run.journey_id, run.version, run.step)
            if definition is None:
                continue
            if (
                definition.goal is not None
                and run.watching_goal(stimulus.occurred_at)
                and stimulus.occurred_at >= run.entered_at
                and _matches(definition.goal, stimulus)
            ):
                run = tx.put(replace(run, converted_at=stimulus.occurred_at))
                held = run.group is Group.HOLDOUT
                tx.change.count(run.journey_id, "converted_held_out" if held else "converted")
                if definition.goal.exit and run.open:
                    run = self._end(tx, run, RunStatus.EXITED, "goal")
            if not run.open:
                continue
            if any(_matches(match, stimulus) for match in definition.exit_on):
                self._end(tx, run, RunStatus.EXITED, "exit_event")
                continue
            step = definition.step(run.step) if run.step and definition.has_step(run.step) else None
            if isinstance(step, WaitStep) and step.until is not None and _matches(step.until, stimulus):
                self._move_and_advance(tx, run, definition, definition.after(step.id))

    # ------------------------------------------------------------------ 4. entries
    def _entries(self, tx: _Transition, stimulus: Stimulus) -> set[str]:
        entered = set()
        for definition in self.registry.accepting():
            if self._triggered(definition, stimulus) and self._enter(tx, definition, stimulus):
                entered.add(definition.id)
        return entered

    def _triggered(self, definition: JourneyDefinition, stimulus: Stimulus) -> bool:
        trigger = definition.trigger
        if isinstance(trigger, EventTrigger):
            return (
                stimulus.kind is StimulusKind.CAPTURED
                and stimulus.name == trigger.event
                and filter_holds(stimulus.document, tests_of(trigger.where))
            )
        if isinstance(trigger, LifecycleTrigger):
            if stimulus.kind is not StimulusKind.LIFECYCLE:
                return False
            match = trigger.lifecycle
            previous = stimulus.document.get("previous_stage") or "none"
            return (
                stimulus.document.get("stage") in {stage.value for stage in match.to}
                and (match.from_ is None or previous in {str(stage) for stage in match.from_})
                and filter_holds(stimulus.document, tests_of(match.where))
            )
        if isinstance(trigger, CartAbandonedTrigger):
            return stimulus.kind is StimulusKind.CART_ABANDONED and filter_holds(
                stimulus.document, tests_of(trigger.cart_abandoned.where)
            )
        return False

    def _enter(self, tx: _Transition, definition: JourneyDefinition, stimulus: Stimulus) -> bool:
        existing = tx.runs.get(definition.id)
        if not self._may_enter(existing, definition, tx):
            return False
        holdout = held_out(definition.id, tx.state.profile_id, definition.entry.holdout)
        group = Group.HOLDOUT if holdout else Group.TREATMENT
        goal_until = iso(tx.now + parse_duration(definition.goal.within)) if definition.goal else None
        run = Run(
            profile_id=tx.state.profile_id,
            journey_id=definition.id,
            version=definition.version,
            run=existing.run + 1 if existing else 1,
            group=group,
            status=RunStatus.HELD_OUT if group is Group.HOLDOUT else RunStatus.ACTIVE,
            entered_at=tx.at,
            goal_until=goal_until,
            trigger=_touchpoint(stimulus),
            revision=existing.revision if existing else 0,
        )
        tx.put(run)
        tx.change.count(definition.id, "held_out" if group is Group.HOLDOUT else "entered")
        if group is Group.TREATMENT:
            self._move_and_advance(tx, run, definition, definition.steps[0].id)
        return True

    def _may_enter(self, existing: Run | None, definition: JourneyDefinition, tx: _Transition) -> bool:
        if existing is None:
            return True
        if existing.trigger.get("event_id") == tx.current_event_id:
            return False  # the same event again (a redelivery the dedupe did not catch)
        rule = definition.entry
        if rule.reentry == "never" or existing.open:
            return False
        if rule.reentry == "cooldown":
            assert rule.cooldown is not None
            return cooldown_over(existing.entered_at, rule.cooldown, tx.now)
        return not existing.watching_goal(tx.at)

    def _segments(self, tx: _Transition, stimulus: Stimulus, entered: set[str]) -> None:
        """Segment triggers: enter when the test turns true (traits on profile events, KPIs on lifecycle)."""
        if stimulus.kind not in (StimulusKind.PROFILE, StimulusKind.LIFECYCLE):
            return
        segments = dict(tx.facts.segments)
        for definition in self.registry.accepting():
            trigger = definition.trigger
            if not isinstance(trigger, SegmentTrigger) or definition.id in entered:
                continue
            if stimulus.kind is StimulusKind.PROFILE and not (
                stimulus.name == "profile.created" or set(stimulus.changed_traits) & definition.trait_names()
            ):
                continue
            if stimulus.kind is StimulusKind.LIFECYCLE and not trigger.segment.kpis:
                continue
            profile = tx.profile
            inside = filter_holds(profile.traits if profile else {}, tests_of(trigger.segment.traits)) and filter_holds(
                tx.facts.kpis, tests_of(trigger.segment.kpis)
            )
            was_inside = segments.get(definition.id, False)
            segments[definition.id] = inside
            if inside and not was_inside:
                self._enter(tx, definition, stimulus)
        if segments != tx.facts.segments:
            tx.set_facts(replace(tx.facts, segments=segments))

    # ------------------------------------------------------------------ steps
    def _definition(self, tx: _Transition, run: Run) -> JourneyDefinition | None:
        definition = self.registry.for_run(run.journey_id, run.version, run.step)
        if definition is None and run.open:
            self._end(tx, run, RunStatus.EXITED, "definition_changed")
        return definition

    def _move_and_advance(self, tx: _Transition, run: Run, definition: JourneyDefinition, target: str | None) -> None:
        run = self._move(tx, run, target)
        if run.open:
            self._advance(tx, run, definition)

    def _move(self, tx: _Transition, run: Run, target: str | None) -> Run:
        if target is None:
            return self._end(tx, run, RunStatus.FINISHED, "completed")
        tx.change.count(run.journey_id, f"step:{target}")
        return tx.put(replace(run, step=target, step_at=tx.at, seq=run.seq + 1, due_at=None, survey=None))

    def _end(self, tx: _Transition, run: Run, status: RunStatus, reason: str) -> Run:
        tx.change.count(run.journey_id, "finished" if status is RunStatus.FINISHED else f"exited:{reason}")
        return tx.put(
            replace(
                run, status=status, step=None, step_at=None, due_at=None, survey=None, ended_at=tx.at, end_reason=reason
            )
        )

    def _advance(self, tx: _Transition, run: Run, definition: JourneyDefinition | None = None) -> None:
        """Run steps from the run's current one until one waits or the run ends."""
        definition = definition or self._definition(tx, run)
        for _ in range(MAX_STEPS_PER_TRANSITION):
            if definition is None or not run.open or run.step is None:
                return
            if not definition.has_step(run.step):
                self._end(tx, run, RunStatus.EXITED, "definition_changed")
                return
            step = definition.step(run.step)
            target = self._take(tx, run, definition, step)
            if target is _WAIT:
                return
            run = self._move(tx, tx.runs[run.journey_id], target if isinstance(target, str) else None)
        raise RuntimeError(f"{definition.id if definition else '?'}: more than {MAX_STEPS_PER_TRANSITION} steps")

    def _take(self, tx: _Transition, run: Run, definition: JourneyDefinition, step: Any) -> object:
        """Take one step: the next step's id, None (the run ends) or ``_WAIT``."""
        if isinstance(step, WaitStep):
            if run.due_at is None:
                tx.put(replace(run, due_at=iso(tx.now + parse_duration(step.duration or step.timeout or "1m"))))
                return _WAIT
            if run.due_at > tx.at:
                return _WAIT
            if step.until is not None:
                tx.change.count(run.journey_id, f"timeout:{step.id}")
                return step.on_timeout or definition.after(step.id)
            return definition.after(step.id)
        if isinstance(step, BranchStep):
            seen = Facts(tx.now, run, tx.facts, tx.profile, tx.reach())
            return step.then if holds(step.if_, seen) else step.else_
        if isinstance(step, SurveyStep) and run.survey is not None:
            if run.survey.until > tx.at:
                return _WAIT
            tx.change.count(run.journey_id, "survey:expired")
            return step.on_timeout or definition.after(step.id)
        if isinstance(step, SendStep | SurveyStep):
            return self._send(tx, run, definition, step)
        if isinstance(step, AgentTaskStep):
            self._agent_task(tx, run, definition, step)
            return definition.after(step.id)
        if isinstance(step, RewardStep):
            self._reward(tx, run, definition, step)
            return definition.after(step.id)
        if isinstance(step, StoreOfferStep):
            self._store_offer(tx, run, definition, step)
            return definition.after(step.id)
        if isinstance(step, ExitStep):
            return None
        raise TypeError(f"unknown step {type(step).__name__}")

    # ------------------------------------------------------------------ sends
    def _send(self, tx: _Transition, run: Run, definition: JourneyDefinition, step: SendStep | SurveyStep) -> object:
        skip_to = (step.on_timeout if isinstance(step, SurveyStep) else None) or definition.after(step.id)
        if run.due_at is not None and run.due_at > tx.at:
            return _WAIT  # deferred past quiet hours
        reach = tx.reach()
        order = contact.channel_order(step.channel, step.channels, run.trigger.get("channel"), reach.preferred)
        channel = next(
            (choice for choice in order if step.message.of(choice) is not None and reach.reachable(choice)), None
        )
        if channel is None:
            tx.change.count(run.journey_id, "skipped:no_channel")
            return skip_to
        quiet = QuietHours.parse(step.quiet_hours if step.quiet_hours is not None else self.policy.quiet_hours)
        if quiet is not None:
            send_at = quiet.send_at(tx.now, contact.zone_of(tx.profile, self.policy.business_time_zone))
            if send_at is not None:
                if run.due_at is None:
                    tx.change.count(run.journey_id, "deferred")
                tx.put(replace(run, due_at=iso(send_at)))
                return _WAIT
        if not step.ignore_cap:
            if not self.cap.allows(tx.facts.sent, tx.now):
                tx.change.count(run.journey_id, "skipped:capped")
                return skip_to
            tx.set_facts(replace(tx.facts, sent=(*self.cap.recent(tx.facts.sent, tx.now), tx.at)))
        message_id = journey_event_id("message", run.journey_id, run.profile_id, run.run, step.id, run.seq)
        links: dict[str, str] = {}
        survey: OpenSurvey | None = None
        if isinstance(step, SurveyStep):
            until = tx.now + parse_duration(step.answer_within)
            claim = surveys.LinkClaim(
                run.journey_id,
                run.profile_id,
                run.run,
                step.id,
                step.survey,
                int((until + self.policy.survey_link_grace).timestamp()),
            )
            if self.policy.survey_link_base_url and self.policy.survey_link_key:
                links = surveys.links(
                    self.policy.survey_link_base_url, surveys.sign(claim, self.policy.survey_link_key), step.survey
                )
            touchpoint = run.trigger.get("channel") or channel.value
            survey = OpenSurvey(step.id, step.survey, channel.value, str(touchpoint), tx.at, iso(until), message_id)
        tx.change.effects.append(self._message(tx, run, definition, step, channel, reach, message_id, links))
        tx.change.count(run.journey_id, f"sent:{channel.value}")
        if survey is None:
            return definition.after(step.id)
        tx.change.count(run.journey_id, "survey:asked")
        tx.put(replace(tx.runs[run.journey_id], survey=survey, due_at=survey.until))
        return _WAIT

    def _message(
        self,
        tx: _Transition,
        run: Run,
        definition: JourneyDefinition,
        step: SendStep | SurveyStep,
        channel: MessageChannel,
        reach: contact.Reach,
        message_id: str,
        links: dict[str, str],
    ) -> Effect:
        message = step.message.of(channel)
        assert message is not None
        values = templates.variables(
            tx.profile, run, journey_name=definition.name, stage=tx.facts.kpis.get("stage"), links=links
        )
        parameters = [templates.value_of(name, values) for name in message.parameters]
        template = message.template or f"{definition.id}.{step.id}"
        event_id = journey_event_id(JourneyEventType.MESSAGE_REQUESTED.value, message_id)
        request = JourneyMessageRequested(
            event_id=event_id,
            occurred_at=tx.now,
            message_id=message_id,
            profile_id=run.profile_id,
            channel=channel.value,
            to=reach.addresses[channel],
            template=template,
            variables={name: value for name, value in zip(message.parameters, parameters, strict=True)},
            reason=f"journey:{definition.id}",
            journey_id=definition.id,
            journey_version=definition.version,
            run=run.run,
            step_id=step.id,
            subject=templates.render(message.subject, values) or None,
            text=templates.render(message.text, values) or None,
            parameters=parameters,
        )
        return Effect(
            event_id=event_id,
            kind="message",
            detail_type=JourneyEventType.MESSAGE_REQUESTED.value,
            detail=request.model_dump(mode="json"),
            journey_id=definition.id,
            step_id=step.id,
            created_at=tx.at,
            channel=channel.value,
            summary={"message_id": message_id, "template": template, "kind": step.type},
        )

    # ------------------------------------------------------------------ tasks, rewards, answers
    def _agent_task(self, tx: _Transition, run: Run, definition: JourneyDefinition, step: AgentTaskStep) -> None:
        task_id = journey_event_id("task", run.journey_id, run.profile_id, run.run, step.id, run.seq)
        values = templates.variables(tx.profile, run, journey_name=definition.name, stage=tx.facts.kpis.get("stage"))
        context: dict[str, Any] = {
            "touchpoint": {key: run.trigger.get(key) for key in ("event", "channel", "occurred_at")},
            "stage": tx.facts.kpis.get("stage"),
            "surveys": [
                {"step": a.step_id, "kind": a.kind, "score": a.score, "answered_at": a.answered_at, "via": a.via}
                for a in run.answers
            ],
        }
        task = AgentTaskRequested(
            event_id=journey_event_id(JourneyEventType.AGENT_TASK_REQUESTED.value, task_id),
            occurred_at=tx.now,
            task_id=task_id,
            profile_id=run.profile_id,
            journey_id=definition.id,
            journey_version=definition.version,
            run=run.run,
            step_id=step.id,
            kind=step.task,
            reason=step.reason,
            priority=step.priority,
            note=templates.render(step.note, values),
            due_at=tx.now + parse_duration(step.due_within),
            context=context,
        )
        tx.change.effects.append(
            Effect(
                event_id=task.event_id,
                kind="agent_task",
                detail_type=JourneyEventType.AGENT_TASK_REQUESTED.value,
                detail=task.model_dump(mode="json"),
                journey_id=definition.id,
                step_id=step.id,
                created_at=tx.at,
                summary={"task_id": task_id, "reason": step.reason, "priority": step.priority, "kind": step.task},
            )
        )
        tx.change.count(run.journey_id, "tasks")
        if run.detractor_at is not None:
            waited = max(0, int((tx.now - parse(run.detractor_at)).total_seconds()))
            tx.change.count(run.journey_id, "survey:followed_up")
            tx.change.count(run.journey_id, "survey:follow_up_seconds", waited)
            bucket = next((name for limit, name in FOLLOW_UP_BUCKETS if waited <= limit), "gt_1d")
            tx.change.count(run.journey_id, f"survey:follow_up_{bucket}")
            tx.put(replace(tx.runs[run.journey_id], detractor_at=None))

    def _reward(self, tx: _Transition, run: Run, definition: JourneyDefinition, step: RewardStep) -> None:
        reward_id = journey_event_id("reward", run.journey_id, run.profile_id, run.run, step.id, run.seq)
        granted = RewardGranted(
            event_id=journey_event_id(JourneyEventType.REWARD_GRANTED.value, reward_id),
            occurred_at=tx.now,
            reward_id=reward_id,
            profile_id=run.profile_id,
            journey_id=definition.id,
            journey_version=definition.version,
            run=run.run,
            step_id=step.id,
            kind=step.reward,
            campaign=step.campaign,
            value=step.value,
            expires_at=tx.now + parse_duration(step.valid_for) if step.valid_for else None,
        )
        tx.change.effects.append(
            Effect(
                event_id=granted.event_id,
                kind="reward",
                detail_type=JourneyEventType.REWARD_GRANTED.value,
                detail=granted.model_dump(mode="json"),
                journey_id=definition.id,
                step_id=step.id,
                created_at=tx.at,
                summary={"reward_id": reward_id, "campaign": step.campaign, "value": step.value},
            )
        )
        tx.change.count(run.journey_id, "rewards")

    def _store_offer(self, tx: _Transition, run: Run, definition: JourneyDefinition, step: StoreOfferStep) -> None:
        """Ask handoff to offer the trigger's abandoned cart in a store near the customer (it decides and sends)."""
        try:
            cart = CartAbandoned.model_validate(run.trigger.get("properties") or {})
        except ValidationError:
            tx.change.count(run.journey_id, "skipped:no_cart")
            return
        request_id = journey_event_id("store_offer", run.journey_id, run.profile_id, run.run, step.id, run.seq)
        requested = StoreOfferRequested(
            **{**cart.model_dump(), "event_id": request_id, "profile_id": run.profile_id},
            journey_id=definition.id,
            journey_version=definition.version,
            run=run.run,
            step_id=step.id,
            cart_event_id=cart.event_id,
        )
        tx.change.effects.append(
            Effect(
                event_id=request_id,
                kind="store_offer",
                detail_type=JourneyEventType.STORE_OFFER_REQUESTED.value,
                detail=requested.model_dump(mode="json"),
                journey_id=definition.id,
                step_id=step.id,
                created_at=tx.at,
                channel=cart.last_channel.value if cart.last_channel else None,
                summary={
                    "cart_id": cart.cart_id,
                    "episode": cart.episode,
                    "value": str(cart.value),
                    "currency": cart.currency,
                },
            )
        )
        tx.change.count(run.journey_id, "store_offers")

    def _survey_answered(self, tx: _Transition, run: Run, answer: SurveyAnswer) -> Effect:
        """``Survey Answered`` as a canonical event, so the KPIs count it like capture's."""
        event_id = journey_event_id("survey", run.journey_id, run.profile_id, run.run, answer.step_id)
        profile = tx.profile
        identifiers: dict[str, str] = {}
        for kind in ("user_id", "email", "phone", "whatsapp"):
            values = profile.identifiers.get(kind) if profile else None
            if values:
                identifiers[kind] = values[0]
                break
        channel = answer.touchpoint if answer.touchpoint in Channel.__members__.values() else answer.asked_on
        detail = CanonicalEvent(
            event_id=event_id,
            message_id=f"journeys:{run.journey_id}:{run.run}:{answer.step_id}:{run.profile_id}",
            source="journeys",
            type=EventType.TRACK,
            name=SURVEY_ANSWERED,
            channel=Channel(channel),
            identifiers={IdentifierType(kind): value for kind, value in identifiers.items()},
            # the identifiers are the profile's own, read by the journeys function itself: a server-side source
            provenance=Provenance.VERIFIED,
            occurred_at=parse(answer.answered_at),
            received_at=tx.now,
            properties={
                answer.kind: answer.score,
                "journey_id": run.journey_id,
                "survey_step": answer.step_id,
                "asked_on": answer.asked_on,
                "answered_via": answer.via,
            },
        ).to_bus_detail()
        return Effect(
            event_id=event_id,
            kind="survey_answer",
            detail_type=SURVEY_ANSWERED,
            detail=detail,
            journey_id=run.journey_id,
            step_id=answer.step_id,
            created_at=tx.at,
            channel=answer.asked_on,
            summary={"kind": answer.kind, "score": answer.score, "via": answer.via},
        )


_WAIT = object()


def _conditions(step: BranchStep) -> list[Any]:
    found = [step.if_]
    index = 0
    while index < len(found):
        found += found[index].children()
        index += 1
    return found


def _matches(match: EventMatch | Any, stimulus: Stimulus) -> bool:
    return (
        stimulus.kind is StimulusKind.CAPTURED
        and stimulus.name == match.event
        and filter_holds(stimulus.document, tests_of(match.where))
    )


def _touchpoint(stimulus: Stimulus) -> dict[str, Any]:
    """What a run keeps of the event that started it (bounded: big properties are dropped)."""
    properties = dict(stimulus.properties)
    # An abandoned cart is kept whole (a cart holds at most 100 lines): a store_offer step offers exactly it.
    bound = MAX_CART_BYTES if stimulus.kind is StimulusKind.CART_ABANDONED else MAX_TOUCHPOINT_PROPERTIES_BYTES
    if len(json.dumps(properties, default=str)) > bound:
        properties = {
            key: value
            for key, value in properties.items()
            if isinstance(value, str | int | float | bool) and len(str(value)) <= 200
        }
    return {
        "event": stimulus.name,
        "event_id": stimulus.event_id,
        "channel": stimulus.channel,
        "occurred_at": stimulus.occurred_at,
        "properties": properties,
    }
