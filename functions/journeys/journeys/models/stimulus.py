"""What moves a customer's journeys, read off a bus event: the engine sees only this (no envelope, no source)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from journeys.models.state import ConsentMark


class StimulusKind(StrEnum):
    CAPTURED = "captured"  # a capture event (its Segment name)
    LIFECYCLE = "lifecycle"  # lifecycle.changed (KPIs)
    CART_ABANDONED = "cart_abandoned"  # cart.abandoned (carts)
    PROFILE = "profile"  # profile.created / profile.updated (traits may have changed)


@dataclass(frozen=True)
class TrackedAnswer:
    """A ``Survey Answered`` sent through the tracking API (capture already announced it)."""

    kind: str
    score: int
    journey_id: str | None = None
    step_id: str | None = None


@dataclass(frozen=True)
class Stimulus:
    kind: StimulusKind
    name: str
    event_id: str
    occurred_at: str
    channel: str | None = None
    document: dict[str, Any] = field(default_factory=dict)  # what trigger / goal filters read
    properties: dict[str, Any] = field(default_factory=dict)  # what a run keeps as its touchpoint
    text: str | None = None  # an inbound message's text
    consent: ConsentMark | None = None  # a STOP / START on ``channel``
    answer: TrackedAnswer | None = None
    changed_traits: tuple[str, ...] = ()
