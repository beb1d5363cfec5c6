"""events/handoff/*.json are what the handoff function publishes: each parses as its model, and the model's own
dump of it gives the same detail back (no field the model would drop or rename)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from handoff.logic.tickets import normalise_code
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffAccepted,
    HandoffCreated,
    HandoffEventType,
    OutboundMessageRequested,
)

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "handoff"
MODELS: dict[str, type[BaseModel]] = {
    HandoffEventType.CREATED: HandoffCreated,
    HandoffEventType.ACCEPTED: HandoffAccepted,
    HandoffEventType.MESSAGE_REQUESTED: OutboundMessageRequested,
}


def samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def test_there_is_a_sample_per_published_event() -> None:
    types = {json.loads(path.read_text(encoding="utf-8"))["detail-type"] for path in samples()}
    assert types == set(MODELS)


@pytest.mark.parametrize("path", samples(), ids=lambda path: path.name)
def test_sample_is_its_model(path: Path) -> None:
    envelope = json.loads(path.read_text(encoding="utf-8"))
    assert envelope["source"] == HANDOFF_SOURCE
    model = MODELS[envelope["detail-type"]].model_validate(envelope["detail"])
    assert model.model_dump(mode="json") == envelope["detail"]
    for name in ("code", "ticket_code"):
        code = envelope["detail"].get(name)
        if code is not None:
            assert normalise_code(code) == code  # stored form: 8 characters, no dash
