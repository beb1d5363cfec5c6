"""What the journeys function puts on the bus (source ``omnichannel.journeys``).

- ``message.requested`` (``JourneyMessageRequested``): outbound's delivery sends it as the journey
  rendered it (``OutboundRequestsFunction``) and announces ``message.sent``.
- ``agent_task.requested`` (``AgentTaskRequested``): handoff opens a task on the customer that the agent context
  lists until an agent marks it done (``HandoffEventsFunction``).
- ``store_offer.requested`` (``StoreOfferRequested``): outbound's online-to-store decision for the abandoned cart
  (``OutboundOfferFunction``): the nearest store holding every line, its stock held, the offer sent.
- ``reward.granted`` (``RewardGranted``): for the shop, loyalty or coupon system.
- ``Survey Answered`` (``omnichannel.canonical_event.CanonicalEvent``): the KPIs count NPS / CSAT from it as from
  capture's.

- ``message.requested`` has the same fields as handoff's ``OutboundMessageRequested`` (a sender parses it
  unchanged: ``message_id`` makes the send idempotent) plus the journey, the step and the rendered ``text`` /
  ``subject`` (SMS and e-mail) and ``parameters`` (a WhatsApp template's body parameters in order), because a
  journey's templates are the retailer's, not the sender's.
- ``Survey Answered`` is a canonical event (``type`` ``track``, ``name`` ``Survey Answered``, ``source``
  ``journeys``), the shape capture gives the same answer sent through the tracking API, so the KPI function
  counts both with the same code. Its ``channel`` is the touchpoint's (the store visited, the order's channel),
  not the channel the question went out on (``properties.asked_on``): NPS per channel shows where the
  experience breaks. Only answers the journeys function received itself (a WhatsApp or SMS reply, a signed
  link) are announced; one sent through the tracking API is already on the bus from capture.

Every detail carries a stable ``event_id`` (consumers are idempotent on it); parsing ignores fields a later
version adds. Addresses (``to``) are personal data: they are on the bus only for the sender that needs them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.cart_events import CartAbandoned
from omnichannel.handoff_events import OutboundMessageRequested

JOURNEYS_SOURCE = "omnichannel.journeys"
JOURNEY_EVENT_NAMESPACE = uuid.UUID("2c9d7f3e-1a6b-4e58-b0c4-7d5e3f9a1b62")
SURVEY_ANSWERED = "Survey Answered"


class JourneyEventType(StrEnum):
    MESSAGE_REQUESTED = "message.requested"
    AGENT_TASK_REQUESTED = "agent_task.requested"
    REWARD_GRANTED = "reward.granted"
    STORE_OFFER_REQUESTED = "store_offer.requested"
    SURVEY_ANSWERED = SURVEY_ANSWERED


def journey_event_id(*parts: str | int) -> str:
    """A stable id for a journey event, from what caused it (same step of the same run, same id)."""
    return str(uuid.uuid5(JOURNEY_EVENT_NAMESPACE, "\x1f".join(str(part) for part in parts)))


class _JourneyStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    journey_id: str
    journey_version: int
    run: int = Field(description="The customer's entry number in this journey (1 for the first)")
    step_id: str


class JourneyMessageRequested(OutboundMessageRequested):
    """``OutboundMessageRequested`` from a journey step: the rendered message travels with the request."""

    journey_id: str
    journey_version: int
    run: int
    step_id: str
    subject: str | None = Field(default=None, description="E-mail subject, rendered")
    text: str | None = Field(default=None, description="The rendered text (SMS, e-mail, WhatsApp text fallback)")
    parameters: list[str] = Field(
        default_factory=list, description="WhatsApp template body parameters, in the template's order"
    )


class AgentTaskRequested(_JourneyStep):
    """An agent should act for this customer (``kind``: ``call``, ``follow_up`` ...), by ``due_at``."""

    event_id: str
    occurred_at: datetime
    task_id: str = Field(description="Stable: the same step of the same run asks for the same task")
    profile_id: str
    kind: str
    reason: str
    priority: str
    note: str = ""
    due_at: datetime
    context: dict[str, Any] = Field(
        default_factory=dict, description="What the agent needs: the touchpoint, a survey answer, the stage"
    )


class RewardGranted(_JourneyStep):
    """A coupon or reward for this customer; the shop or loyalty system issues it (idempotent on ``reward_id``)."""

    event_id: str
    occurred_at: datetime
    reward_id: str
    profile_id: str
    kind: str = Field(description="coupon, points, gift ...")
    campaign: str
    value: str = Field(description="As the retailer wrote it: '10%', '50 TRY', '200 points'")
    expires_at: datetime | None = None


class StoreOfferRequested(CartAbandoned):
    """A journey's ``store_offer`` step: the abandoned cart (``cart.abandoned``'s own fields, so outbound decides it
    with the same code) and the journey step that asks. ``event_id`` is the request's; outbound decides each cart
    episode once (``cart_id``, ``episode``) however often it is asked."""

    journey_id: str
    journey_version: int
    run: int
    step_id: str
    cart_event_id: str = Field(description="The cart.abandoned event that started the journey")
