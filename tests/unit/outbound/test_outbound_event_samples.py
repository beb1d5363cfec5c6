"""events/handoff_outbound/*.json are what the delivery function publishes, and the samples the online-to-store
functions consume parse as their models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnichannel.cart_events import CartAbandoned
from omnichannel.handoff_events import HANDOFF_SOURCE, OutboundMessageRequested
from outbound.delivery.events import OutboundMessageSent
from outbound.delivery.templates import render

EVENTS = Path(__file__).resolve().parents[3] / "events"


def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return loaded


def test_message_sent_sample_is_its_model() -> None:
    envelope = _load("handoff_outbound/message_sent.json")
    assert (envelope["source"], envelope["detail-type"]) == (HANDOFF_SOURCE, "message.sent")
    model = OutboundMessageSent.model_validate(envelope["detail"])
    assert model.model_dump(mode="json") == envelope["detail"]
    assert "to" not in envelope["detail"]  # no address on the bus once sent


def test_the_consumed_samples_parse() -> None:
    abandoned = CartAbandoned.model_validate(_load("carts/cart_abandoned.json")["detail"])
    assert [line.sku for line in abandoned.lines] == ["TSHIRT-RED-M"]
    requested = OutboundMessageRequested.model_validate(_load("handoff/message_requested.json")["detail"])
    # The sample's template is one the delivery function can render, with its code in the text
    rendered = render(requested.template, dict(requested.variables))
    assert "QW4R-T8YP" in rendered.text
    assert "Kadıköy" in rendered.parameters
