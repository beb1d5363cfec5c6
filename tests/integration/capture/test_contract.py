"""docs/capture-contract.md and docs/canonical-event.schema.json say what other functions may rely on; these
tests hold capture to it, sample by sample."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from tests import webhook_samples
from tests.support.capture_harness import CaptureHarness, wired_capture

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def capture() -> Iterator[CaptureHarness]:
    with wired_capture(webhook_samples.dev_secrets(), webhook_samples.SAMPLE_TIME) as harness:
        yield harness


def test_schema_file_is_generated_from_the_model() -> None:
    committed = json.loads((DOCS / "canonical-event.schema.json").read_text(encoding="utf-8"))
    assert committed == CanonicalEvent.model_json_schema(), "stale: run `make openapi`"


@pytest.mark.parametrize(
    ("sample", "detail_type", "channel", "identifiers", "properties"),
    [
        ("whatsapp_message.json", "Message Received", "whatsapp", {"whatsapp", "phone"}, {"text", "message_type"}),
        ("whatsapp_status.json", "Message Status Updated", "whatsapp", {"whatsapp", "phone"}, {"status"}),
        ("messenger_message.json", "Message Received", "messenger", {"messenger"}, {"provider_message_id"}),
        ("instagram_message.json", "Message Received", "instagram", {"instagram"}, {"message_type"}),
        ("twilio_sms.json", "Message Received", "sms", {"phone"}, {"text", "provider_message_id"}),
        ("twilio_voice.json", "Call Started", "phone", {"phone"}, {"call_status", "direction"}),
        ("twilio_voice_completed.json", "Call Completed", "phone", {"phone"}, {"duration_seconds"}),
        ("pos_sale.json", "Order Completed", "store", {"loyalty_card", "email"}, {"order_id", "products", "store_id"}),
    ],
)
def test_webhook_events_are_as_documented(
    capture: CaptureHarness,
    sample: str,
    detail_type: str,
    channel: str,
    identifiers: set[str],
    properties: set[str],
) -> None:
    event = json.loads((webhook_samples.SAMPLES_DIR / sample).read_text(encoding="utf-8"))
    assert capture.invoke(event)["statusCode"] == 200
    [published] = capture.bus.events
    detail = CanonicalEvent.model_validate(published.detail)
    assert (published.source, published.detail_type) == (CAPTURE_SOURCE, detail_type)
    assert published.event_id == detail.event_id
    assert detail.channel.value == channel
    assert identifiers <= set(detail.identifiers)
    assert properties <= set(detail.properties)
