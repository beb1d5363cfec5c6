"""events/journeys/: each sample is what the journeys function publishes, read back by the model its consumers
use; ``message.requested`` also parses as handoff's ``OutboundMessageRequested`` (the sender's contract), and
``Survey Answered`` as the canonical event the KPIs count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.handoff_events import OutboundMessageRequested
from omnichannel.journey_events import (
    JOURNEYS_SOURCE,
    AgentTaskRequested,
    JourneyMessageRequested,
    RewardGranted,
)

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "journeys"
MODELS: dict[str, type[BaseModel]] = {
    "message.requested": JourneyMessageRequested,
    "agent_task.requested": AgentTaskRequested,
    "reward.granted": RewardGranted,
}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("name", ["message_requested.json", "agent_task_requested.json", "reward_granted.json"])
def test_a_journey_sample_is_what_the_model_writes(name: str) -> None:
    event = _load(name)
    assert event["source"] == JOURNEYS_SOURCE
    detail = MODELS[event["detail-type"]].model_validate(event["detail"])
    assert detail.model_dump(mode="json") == event["detail"]


def test_a_message_request_is_also_a_request_the_outbound_sender_reads() -> None:
    detail = _load("message_requested.json")["detail"]
    request = OutboundMessageRequested.model_validate(detail)
    assert (request.channel.value, request.template, request.to) == ("whatsapp", "post_visit_nps", "+905321110001")
    assert request.message_id == detail["message_id"]


def test_a_survey_answer_is_a_canonical_event_the_kpis_count() -> None:
    event = _load("survey_answered.json")
    answer = CanonicalEvent.model_validate(event["detail"])
    assert (answer.detail_type, answer.channel.value, answer.properties["nps"]) == ("Survey Answered", "store", 3)
    assert answer.identifiers
    assert answer.to_bus_detail() == event["detail"]
