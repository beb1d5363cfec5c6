"""The engine's domain objects: a customer's runs (one per journey), what the journeys function remembers about
the customer, the profile as read from the profiles table, and what a transition produces. Plain dataclasses;
``journeys.dal`` maps them to and from items."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    ACTIVE = "active"  # in its steps (maybe waiting)
    FINISHED = "finished"  # its steps ended (an exit step, or the last step)
    HELD_OUT = "held_out"  # in the holdout group: no step runs; its goal is watched all the same
    EXITED = "exited"  # ended early: goal reached, an exit event, STOP, a definition that no longer holds it


class Group(StrEnum):
    TREATMENT = "treatment"
    HOLDOUT = "holdout"


@dataclass(frozen=True)
class OpenSurvey:
    """A question that was asked and waits for its answer until ``until``."""

    step_id: str
    kind: str  # nps | csat
    asked_on: str  # the channel the question went out on
    touchpoint: str  # the channel of the touchpoint the survey is about (the answer is counted under it)
    asked_at: str
    until: str
    message_id: str


@dataclass(frozen=True)
class SurveyAnswer:
    step_id: str
    kind: str
    score: int
    answered_at: str
    via: str  # reply | link | tracking
    asked_on: str
    touchpoint: str


@dataclass(frozen=True)
class Run:
    """One customer's current (or last) run of one journey."""

    profile_id: str
    journey_id: str
    version: int
    run: int
    group: Group
    status: RunStatus
    entered_at: str
    step: str | None = None
    step_at: str | None = None  # when the run reached its current step
    seq: int = 0  # steps entered so far: with the run number, what makes a step's effects unique
    due_at: str | None = None  # a wait's end, a deferred send, a survey's deadline
    goal_until: str | None = None
    converted_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    trigger: dict[str, Any] = field(default_factory=dict)  # the touchpoint: event, id, channel, at, properties
    survey: OpenSurvey | None = None
    answers: tuple[SurveyAnswer, ...] = ()
    detractor_at: str | None = None  # a low answer no agent task followed yet
    merged_from: str | None = None  # the profile this run came from in a merge (an undone merge takes it back)
    revision: int = 0  # the item's version as read (0: not stored yet)

    @property
    def open(self) -> bool:
        return self.status is RunStatus.ACTIVE

    def watching_goal(self, at: str) -> bool:
        return self.goal_until is not None and self.converted_at is None and at <= self.goal_until

    def answer(self, step_id: str) -> SurveyAnswer | None:
        return next((answer for answer in self.answers if answer.step_id == step_id), None)


@dataclass(frozen=True)
class ConsentMark:
    opted_in: bool
    at: str
    keyword: str = ""


@dataclass(frozen=True)
class CustomerFacts:
    """What the journeys function itself remembers about a customer (one item beside the runs)."""

    profile_id: str
    consent: dict[str, ConsentMark] = field(default_factory=dict)  # STOP / START replies, per channel
    kpis: dict[str, Any] = field(default_factory=dict)  # stage, frequency, monetary, recency_days, currency, at
    seen: dict[str, str] = field(default_factory=dict)  # event_seen key -> when last seen
    segments: dict[str, bool] = field(default_factory=dict)  # segment journey -> inside at the last evaluation
    sent: tuple[str, ...] = ()  # when journey messages counting towards the cap went out (the cap's window)
    revision: int = 0


@dataclass(frozen=True)
class CustomerState:
    profile_id: str
    facts: CustomerFacts
    runs: dict[str, Run] = field(default_factory=dict)

    @classmethod
    def empty(cls, profile_id: str) -> CustomerState:
        return cls(profile_id, CustomerFacts(profile_id))


@dataclass(frozen=True)
class Profile:
    """The profile as the profiles function keeps it (read-only here)."""

    profile_id: str
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """How a journey's message ended, as outbound announced it (``message.sent`` / ``message.failed``)."""

    state: str  # sent | failed | cancelled
    at: str
    channel: str  # the channel it went out on (or was to)
    error_code: str | None = None  # short, no personal data (failed, cancelled)


@dataclass(frozen=True)
class Effect:
    """Something a step announces on the bus (a message, an agent task, a reward, a survey answer)."""

    event_id: str
    kind: str  # message | agent_task | reward | survey_answer
    detail_type: str
    detail: dict[str, Any]
    journey_id: str
    step_id: str
    created_at: str
    channel: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # what the customer API shows (no address)


@dataclass
class Change:
    """What one stimulus does to one customer: runs and facts to write, effects to announce, counters to add."""

    runs: dict[str, Run] = field(default_factory=dict)
    facts: CustomerFacts | None = None
    effects: list[Effect] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)  # journey -> counter -> amount

    def count(self, journey_id: str, name: str, amount: int = 1) -> None:
        bucket = self.counters.setdefault(journey_id, {})
        bucket[name] = bucket.get(name, 0) + amount

    @property
    def empty(self) -> bool:
        return not self.runs and self.facts is None and not self.effects and not self.counters
