"""A journey definition: what a retailer writes in ``journeys/journey_definitions/<id>.yaml`` (JSON Schema:
``docs/journey.schema.json``, generated from these models).

A journey has a **trigger** (a captured event by name with a property filter, ``lifecycle.changed`` to a stage,
``cart.abandoned``, or a profile entering a segment of traits and KPI values), **entry** rules (re-entry,
holdout share), an optional **goal** (the conversion its lift is measured on; reaching it ends the journey),
events that **exit** it, and **steps** run in order: ``wait`` (a duration, or until an event with a timeout),
``branch`` (on traits, stage, KPIs, an event seen, consent, a reachable channel, the trigger, a survey answer),
``send`` (a message per channel, on the preferred consented channel, outside quiet hours, within the frequency
cap), ``survey`` (an NPS or CSAT question whose answer the journey waits for), ``agent_task`` (a case for an
agent), ``reward`` (a coupon or points) and ``exit``. Steps jump only forward (``next``, ``then``/``else``,
``on_timeout``), so every run ends.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from journeys.logic.durations import DURATION_PATTERN, parse_duration

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
JOURNEY_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SIMPLE_VARIABLES = frozenset({"first_name", "last_name", "name", "journey_name", "survey_link", "stage"})
_SURVEY_LINK = re.compile(r"^survey_link_(10|[0-9])$")
_PREFIXED = re.compile(r"^(trait|event|survey)\.[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


class Stage(StrEnum):
    ACQUISITION = "acquisition"
    EXPERIMENTATION = "experimentation"
    LOYALTY = "loyalty"
    RETENTION = "retention"
    RECOVERY = "recovery"


class MessageChannel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"


def _duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, description="e.g. 30m, 12h, 3d, 2w or 1d12h", examples=["3d"]),
    AfterValidator(_duration),
]
StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN)]
EventName = Annotated[str, Field(min_length=1, max_length=128)]
Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Ops(_Model):
    """Operators on one value; all must hold."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    exists: bool | None = None
    contains: Scalar | None = None

    def as_test(self) -> dict[str, Any]:
        return {("in" if key == "in_" else key): value for key, value in self.model_dump().items() if value is not None}


Test = Scalar | Ops
Where = Annotated[
    dict[str, Test],
    Field(description="Dotted path -> a value (equals) or operators: {gte: 500}, {in: [a, b]}, {exists: true}"),
]


def tests_of(where: dict[str, Test]) -> dict[str, Any]:
    """A ``Where`` as plain tests for ``journeys.logic.matching``."""
    return {path: test.as_test() if isinstance(test, Ops) else test for path, test in where.items()}


class EventMatch(_Model):
    event: EventName = Field(description="The captured event's name (Segment name: 'Order Completed' ...)")
    where: Where = Field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ triggers


class EventTrigger(_Model):
    """A captured event by name (``source`` omnichannel.capture), filtered on the canonical event's fields
    (``properties.total``, ``channel`` ...)."""

    event: EventName
    where: Where = Field(default_factory=dict)


class LifecycleMatch(_Model):
    to: list[Stage] = Field(min_length=1)
    from_: list[Stage | Literal["none"]] | None = Field(
        default=None, alias="from", description="Only from these stages ('none': a customer's first stage)"
    )
    where: Where = Field(
        default_factory=dict, description="On lifecycle.changed: frequency, monetary, recency_days, currency"
    )


class LifecycleTrigger(_Model):
    """``lifecycle.changed`` (KPIs) to one of these stages."""

    lifecycle: LifecycleMatch


class CartMatch(_Model):
    where: Where = Field(default_factory=dict, description="On cart.abandoned: value, currency, last_channel ...")


class CartAbandonedTrigger(_Model):
    """``cart.abandoned`` (carts), once per cart episode."""

    cart_abandoned: CartMatch


class SegmentMatch(_Model):
    traits: Where = Field(default_factory=dict, description="Profile traits")
    kpis: Where = Field(
        default_factory=dict, description="stage, frequency, monetary, recency_days (as of the last stage change)"
    )

    @model_validator(mode="after")
    def _something(self) -> SegmentMatch:
        if not self.traits and not self.kpis:
            raise ValueError("a segment needs traits or kpis")
        return self


class SegmentTrigger(_Model):
    """A profile entering a segment: the test turns true (it was false, or never evaluated) on a
    profile.created / profile.updated (traits) or lifecycle.changed (KPIs)."""

    segment: SegmentMatch


def _trigger_kind(value: Any) -> str | None:
    """Which trigger a mapping is, by its key (so a mistake is reported inside the right kind)."""
    if isinstance(value, BaseModel):
        return {EventTrigger: "event", LifecycleTrigger: "lifecycle", CartAbandonedTrigger: "cart_abandoned"}.get(
            type(value), "segment"
        )
    if isinstance(value, dict):
        return next((key for key in ("event", "lifecycle", "cart_abandoned", "segment") if key in value), None)
    return None


Trigger = Annotated[
    Annotated[EventTrigger, Tag("event")]
    | Annotated[LifecycleTrigger, Tag("lifecycle")]
    | Annotated[CartAbandonedTrigger, Tag("cart_abandoned")]
    | Annotated[SegmentTrigger, Tag("segment")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger",
        custom_error_message="a trigger is one of: event, lifecycle, cart_abandoned, segment",
    ),
]


# ------------------------------------------------------------------------------------------------ conditions


class EventSeen(_Model):
    event: EventName
    where: Where = Field(default_factory=dict)
    within: Duration | None = Field(default=None, description="Seen within this long before now")
    since_entry: bool = Field(default=False, description="Seen since the customer entered this run")


class SurveyTest(_Model):
    step: StepId = Field(description="A survey step before this branch")
    score: Test | None = Field(default=None, description="The answer, e.g. {lte: 6} for an NPS detractor")
    answered: bool | None = None


ChannelOrAny = MessageChannel | Literal["any"]


class Condition(_Model):
    """Exactly one of its fields."""

    traits: Where | None = None
    kpis: Where | None = None
    stage: list[Stage] | None = None
    event_seen: EventSeen | None = None
    consent: ChannelOrAny | None = Field(default=None, description="The channel has opt-in consent")
    reachable: ChannelOrAny | None = Field(default=None, description="Consent and an address on the profile")
    trigger: Where | None = Field(default=None, description="On the event that started this run")
    survey: SurveyTest | None = None
    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        chosen = [name for name, value in self if value is not None]
        if len(chosen) != 1:
            raise ValueError(f"a condition has exactly one test (got {len(chosen)}: {chosen})")
        return self

    def children(self) -> list[Condition]:
        return [*(self.all_ or []), *(self.any_ or []), *([self.not_] if self.not_ else [])]


# ------------------------------------------------------------------------------------------------ steps


class _Step(_Model):
    id: StepId
    description: str = ""
    next: StepId | None = Field(default=None, description="The step after this one (default: the next in the list)")

    def targets(self) -> list[str]:
        return [self.next] if self.next else []


class WaitStep(_Step):
    type: Literal["wait"]
    duration: Duration | None = None
    until: EventMatch | None = Field(default=None, description="Wait for this event (then go on to `next`)")
    timeout: Duration | None = Field(default=None, description="With `until`: give up after this long")
    on_timeout: StepId | None = Field(default=None, description="With `until`: where to go on timeout")

    @model_validator(mode="after")
    def _one_kind(self) -> WaitStep:
        if (self.duration is None) == (self.until is None):
            raise ValueError("a wait has either a duration or until (an event) with a timeout")
        if self.until is not None and self.timeout is None:
            raise ValueError("a wait until an event needs a timeout")
        if self.until is None and (self.timeout is not None or self.on_timeout is not None):
            raise ValueError("timeout and on_timeout belong to a wait until an event")
        return self

    def targets(self) -> list[str]:
        return [*super().targets(), *([self.on_timeout] if self.on_timeout else [])]


class BranchStep(_Step):
    type: Literal["branch"]
    if_: Condition = Field(alias="if")
    then: StepId
    else_: StepId = Field(alias="else")

    @model_validator(mode="after")
    def _no_next(self) -> BranchStep:
        if self.next is not None:
            raise ValueError("a branch goes to `then` or `else`, not `next`")
        return self

    def targets(self) -> list[str]:
        return [self.then, self.else_]


class ChannelMessage(_Model):
    template: str | None = Field(
        default=None, max_length=512, description="WhatsApp: the approved template's name (required there)"
    )
    parameters: list[str] = Field(
        default_factory=list, max_length=10, description="WhatsApp: the template's {{1}}, {{2}} ... as variable names"
    )
    subject: str | None = Field(default=None, max_length=200, description="E-mail subject")
    text: str | None = Field(default=None, max_length=1600, description="The text; {first_name}, {event.x} ...")


class Messages(_Model):
    whatsapp: ChannelMessage | None = None
    sms: ChannelMessage | None = None
    email: ChannelMessage | None = None

    @model_validator(mode="after")
    def _complete(self) -> Messages:
        if not self.channels():
            raise ValueError("a message for at least one channel")
        if self.whatsapp is not None and not self.whatsapp.template:
            raise ValueError("whatsapp: a business-initiated message is an approved template (template: <name>)")
        for channel in (MessageChannel.SMS, MessageChannel.EMAIL):
            message = self.of(channel)
            if message is not None and not message.text:
                raise ValueError(f"{channel.value}: text is required")
        if self.email is not None and not self.email.subject:
            raise ValueError("email: subject is required")
        return self

    def of(self, channel: MessageChannel) -> ChannelMessage | None:
        message: ChannelMessage | None = getattr(self, channel.value)
        return message

    def channels(self) -> list[MessageChannel]:
        return [channel for channel in MessageChannel if self.of(channel) is not None]


ChannelChoice = Literal["preferred", "touchpoint", "whatsapp", "sms", "email"]


class _Outbound(_Step):
    message: Messages
    channel: ChannelChoice = Field(
        default="preferred",
        description=(
            "preferred: the customer's preferred_channel trait, then `channels` in order; touchpoint: the channel "
            "of the event that started the run first; or one fixed channel"
        ),
    )
    channels: list[MessageChannel] = Field(
        default_factory=lambda: [MessageChannel.WHATSAPP, MessageChannel.SMS, MessageChannel.EMAIL],
        min_length=1,
        description="The channels allowed, in fallback order",
    )
    quiet_hours: str | None = Field(
        default=None,
        pattern=r"^(off|([01]?[0-9]|2[0-3]):[0-5][0-9]-([01]?[0-9]|2[0-3]):[0-5][0-9])$",
        description="Local time window to wait out (default: the stack's QuietHours); off for none",
    )
    ignore_cap: bool = Field(default=False, description="Not counted against the frequency cap (service messages)")


class SendStep(_Outbound):
    type: Literal["send"]


class SurveyStep(_Outbound):
    type: Literal["survey"]
    survey: Literal["nps", "csat"]
    channel: ChannelChoice = "touchpoint"
    answer_within: Duration = Field(default="3d", description="How long the question stays open")
    on_timeout: StepId | None = Field(default=None, description="Where to go without an answer (default: next)")

    def targets(self) -> list[str]:
        return [*super().targets(), *([self.on_timeout] if self.on_timeout else [])]


class AgentTaskStep(_Step):
    type: Literal["agent_task"]
    task: str = Field(default="call", max_length=64, description="call, follow_up, visit ...")
    reason: str = Field(max_length=128)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    note: str = Field(default="", max_length=1000, description="For the agent; {first_name}, {survey.<step>} ...")
    due_within: Duration = "1d"


class RewardStep(_Step):
    type: Literal["reward"]
    reward: str = Field(default="coupon", max_length=64, description="coupon, points, gift ...")
    campaign: str = Field(max_length=128)
    value: str = Field(max_length=64, description="'10%', '50 TRY', '200 points'")
    valid_for: Duration | None = None


class ExitStep(_Step):
    type: Literal["exit"]


Step = Annotated[
    WaitStep | BranchStep | SendStep | SurveyStep | AgentTaskStep | RewardStep | ExitStep,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------------------------------------ the journey


class Entry(_Model):
    reentry: Literal["never", "after_exit", "cooldown"] = Field(
        default="after_exit",
        description=(
            "never: once per customer; after_exit: again once the previous run ended (and its goal window "
            "closed); cooldown: again once `cooldown` passed since the last entry"
        ),
    )
    cooldown: Duration | None = None
    holdout: float = Field(
        default=0.0, ge=0.0, le=0.5, description="Share of entering customers held out (stable per customer)"
    )

    @model_validator(mode="after")
    def _cooldown(self) -> Entry:
        if (self.reentry == "cooldown") != (self.cooldown is not None):
            raise ValueError("cooldown is set exactly when reentry is cooldown")
        return self


class Goal(_Model):
    event: EventName
    where: Where = Field(default_factory=dict)
    within: Duration = Field(description="A conversion counts within this long after entry")
    exit: bool = Field(default=True, description="Reaching the goal ends the run's steps")


class JourneyDefinition(_Model):
    """One version of one journey."""

    id: str = Field(pattern=JOURNEY_ID_PATTERN)
    version: int = Field(ge=1, description="Raise it with every change; runs continue on the step ids they are at")
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)
    enabled: bool = Field(default=True, description="false: no new entries; running customers go on")
    trigger: Trigger
    entry: Entry = Field(default_factory=Entry)
    goal: Goal | None = None
    exit_on: list[EventMatch] = Field(default_factory=list, description="Events that end the run at once")
    steps: list[Step] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> JourneyDefinition:
        positions: dict[str, int] = {}
        for index, step in enumerate(self.steps):
            if step.id in positions:
                raise ValueError(f"steps: id {step.id!r} twice")
            positions[step.id] = index
        for index, step in enumerate(self.steps):
            for target in step.targets():
                if target not in positions:
                    raise ValueError(f"steps.{step.id}: no step {target!r}")
                if positions[target] <= index:
                    raise ValueError(f"steps.{step.id}: {target!r} is not after it (steps only jump forward)")
            self._check_texts(step, positions, index)
        return self

    def _check_texts(self, step: Any, positions: dict[str, int], index: int) -> None:
        survey_steps = {s.id for s in self.steps[:index] if isinstance(s, SurveyStep)}
        texts: list[str] = []
        names: list[str] = []
        if isinstance(step, SendStep | SurveyStep):
            for channel in step.message.channels():
                message = step.message.of(channel)
                assert message is not None
                texts += [message.text or "", message.subject or ""]
                names += message.parameters
        if isinstance(step, AgentTaskStep):
            texts.append(step.note)
        names += [name for text in texts for name in PLACEHOLDER.findall(text)]
        for name in names:
            if name.startswith("survey_link") and not isinstance(step, SurveyStep):
                raise ValueError(f"steps.{step.id}: {{{name}}}: only a survey step has a survey link")
            problem = placeholder_problem(name, survey_steps)
            if problem:
                raise ValueError(f"steps.{step.id}: {{{name}}}: {problem}")
        if isinstance(step, BranchStep):
            for condition in _walk(step.if_):
                if condition.survey is not None and condition.survey.step not in survey_steps:
                    raise ValueError(f"steps.{step.id}: survey step {condition.survey.step!r} is not a survey before")

    # ------------------------------------------------------------------ reading
    def step(self, step_id: str) -> Any:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def after(self, step_id: str) -> str | None:
        """The step that follows ``step_id`` by default (its ``next``, else the next in the list)."""
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                if step.next:
                    return str(step.next)
                return self.steps[index + 1].id if index + 1 < len(self.steps) else None
        raise KeyError(step_id)

    def event_names(self) -> set[str]:
        """Every captured event name this journey listens to (trigger, goal, exits, waits, branches)."""
        names = {match.event for match in self.exit_on}
        if isinstance(self.trigger, EventTrigger):
            names.add(self.trigger.event)
        if self.goal is not None:
            names.add(self.goal.event)
        for step in self.steps:
            if isinstance(step, WaitStep) and step.until is not None:
                names.add(step.until.event)
            if isinstance(step, BranchStep):
                names |= {c.event_seen.event for c in _walk(step.if_) if c.event_seen is not None}
        return names

    def seen_names(self) -> set[str]:
        """Event names branches ask 'seen?' about (their last time is remembered per customer)."""
        return {
            condition.event_seen.event
            for step in self.steps
            if isinstance(step, BranchStep)
            for condition in _walk(step.if_)
            if condition.event_seen is not None
        }

    def trait_names(self) -> set[str]:
        """Traits a segment trigger tests (a change of one re-evaluates the segment)."""
        if isinstance(self.trigger, SegmentTrigger):
            return {path.split(".", 1)[0] for path in self.trigger.segment.traits}
        return set()


def _walk(condition: Condition) -> list[Condition]:
    found = [condition]
    for child in condition.children():
        found += _walk(child)
    return found


def placeholder_problem(name: str, survey_steps: set[str]) -> str | None:
    """Why a ``{placeholder}`` cannot be filled, or None."""
    if name in _SIMPLE_VARIABLES or _SURVEY_LINK.match(name):
        return None
    if not _PREFIXED.match(name):
        return (
            "unknown variable (first_name, last_name, name, journey_name, stage, survey_link, survey_link_<0-10>, "
            "trait.<name>, event.<property>, survey.<step>)"
        )
    if name.startswith("survey.") and name.removeprefix("survey.") not in survey_steps:
        return "not a survey step before this one"
    return None


def journey_schema() -> dict[str, Any]:
    """The JSON Schema of a journey file (``docs/journey.schema.json``)."""
    schema = JourneyDefinition.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Journey"
    return schema
