"""What the journeys API answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class JourneySummary(BaseModel):
    id: str
    version: int
    name: str
    description: str
    enabled: bool
    trigger: str = Field(description="What starts it, in words")
    holdout: float = Field(description="Share of entering customers held out")
    goal: str | None = Field(description="The goal event conversion is measured on")
    entered: int
    held_out: int
    converted: int
    converted_held_out: int
    lift: dict[str, Any] | None = Field(description="Absolute and relative lift with intervals (no goal: null)")


class JourneyList(BaseModel):
    journeys: list[JourneySummary]


class JourneyDetail(BaseModel):
    journey: JourneySummary
    funnel: dict[str, Any] = Field(
        description=(
            "entered, held_out, converted, converted_held_out, finished, exited by reason, steps (reached), sent by "
            "channel (messages requested, per channel chosen), delivery (how they ended, as outbound announced: "
            "sent, failed, cancelled, each by channel), skipped by reason, deferred, tasks, rewards, store_offers, "
            "surveys (asked, answered, NPS, CSAT, followed up and how fast), lift"
        )
    )


class RunView(BaseModel):
    journey_id: str
    journey_name: str | None
    version: int
    run: int
    group: str = Field(description="treatment, or holdout (held out: no step runs, the goal is still watched)")
    held_out: bool = Field(description="In the journey's holdout group")
    status: str = Field(description="active, held_out, finished or exited")
    step: str | None = Field(description="The current step (none once the run ended, or when held out)")
    step_since: str | None = Field(description="When the run reached its current step")
    entered_at: str = Field(description="When the customer entered the journey")
    due_at: str | None
    goal_until: str | None
    converted_at: str | None
    ended_at: str | None
    end_reason: str | None
    survey_open: bool
    answers: list[dict[str, Any]]


SentStatus = Literal["pending", "requested", "sent", "failed", "cancelled"]


class SentView(BaseModel):
    event_id: str
    kind: str = Field(description="message, agent_task, reward, survey_answer")
    journey_id: str
    step_id: str
    channel: str | None
    at: str
    announced: bool
    status: SentStatus = Field(
        description=(
            "pending: recorded, its announcement is retried by the minute sweep; requested: announced on the bus "
            "for delivery (message.requested, agent_task.requested ...); a message then ends sent (a provider "
            "accepted it), failed (refused for good, or every attempt failed) or cancelled (a last check before "
            "sending said no), as outbound announced it (message.sent / message.failed)"
        )
    )
    delivered_at: str | None = Field(
        default=None, description="When the message ended sent, failed or cancelled (none until outbound says)"
    )
    delivered_channel: str | None = Field(
        default=None, description="The channel the message went out on (or was to), as outbound reported it"
    )
    delivery_error: str | None = Field(
        default=None, description="Why it did not go out: the provider's error code or the cancellation's reason"
    )
    details: dict[str, Any] = Field(description="Template, task or reward; never the address")


class CustomerJourneys(BaseModel):
    profile_id: str
    journeys: list[RunView]
    sent: list[SentView]


class SurveyAnswerBody(BaseModel):
    token: str = Field(min_length=10, max_length=1024)
    score: int = Field(ge=0, le=10)


class SurveyAnswerResult(BaseModel):
    outcome: str = Field(description="answered, already_answered or closed")
