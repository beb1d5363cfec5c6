"""How a journey's message ended (pure): outbound's ``message.sent`` / ``message.failed`` are recorded on the effect
that requested the message (found by its id: the effect's event id derives from the message id), and counted in
the journey's funnel (``delivery:<state>:<channel>``). The first end stands; a message.sent never turns failed."""

from __future__ import annotations

from journeys.logic.ports import StoredEffect
from journeys.models.state import Delivery
from omnichannel.journey_events import JourneyEventType, journey_event_id

JOURNEY_REASON_PREFIX = "journey:"
DELIVERY_COUNTER_PREFIX = "delivery:"


def effect_id_of(message_id: str) -> str:
    """The id of the effect (and of its ``message.requested``) that asked for ``message_id``."""
    return journey_event_id(JourneyEventType.MESSAGE_REQUESTED.value, message_id)


def counter_of(delivery: Delivery) -> str:
    return f"{DELIVERY_COUNTER_PREFIX}{delivery.state}:{delivery.channel}"


def recordable(effect: StoredEffect) -> bool:
    """Only a message takes an end, and only once."""
    return effect.kind == "message" and effect.delivery is None
