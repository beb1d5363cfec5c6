"""What capture writes to its logs and metrics: counts per channel and provider, and no personal data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests import webhook_samples
from tests.integration.capture.test_tracking_api import NOW, SECRETS
from tests.support.capture_harness import CaptureHarness, wired_capture
from tests.support.capture_harness import tracking_request as request

EMAIL = "ayse.yilmaz@example.com.tr"
PHONE = "+905321234567"


@pytest.fixture
def capture() -> Iterator[CaptureHarness]:
    with wired_capture({**webhook_samples.dev_secrets(), **SECRETS}, NOW) as harness:
        yield harness


def _records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_logs_hold_no_email_phone_or_message_text(capture: CaptureHarness, capfd: pytest.CaptureFixture[str]) -> None:
    # Given traffic full of personal data: an identify, a refused call and a WhatsApp message
    capture.invoke(request("/v1/identify", {"userId": "u-1", "traits": {"email": EMAIL, "phone": "0532 123 45 67"}}))
    capture.invoke(request("/v1/track", {"userId": "u-1", "properties": {"email": EMAIL}}))
    capture.clock[0] = webhook_samples.SAMPLE_TIME
    whatsapp = json.loads((webhook_samples.SAMPLES_DIR / "whatsapp_message.json").read_text(encoding="utf-8"))
    assert capture.invoke(whatsapp)["statusCode"] == 200
    output = capfd.readouterr().out
    # Then the logs name ids and counts, never the e-mail, the phone, the wa_id or the text
    assert _records(output), "the handler logged nothing at all"
    message_text = webhook_samples.whatsapp_message_payload()["entry"][0]["changes"][0]["value"]["messages"][0]
    for secret in (EMAIL, PHONE, PHONE.lstrip("+"), message_text["text"]["body"]):
        assert secret not in output


def test_metrics_count_accepted_per_channel_and_rejected(
    capture: CaptureHarness, capfd: pytest.CaptureFixture[str]
) -> None:
    batch = [
        {"type": "page", "anonymousId": "a", "messageId": "p", "context": {"library": {"name": "analytics.js"}}},
        {"type": "screen", "anonymousId": "a", "messageId": "s"},
        {"type": "screen", "anonymousId": "a", "messageId": "s2"},
        {"type": "track", "anonymousId": "null", "event": "x"},
    ]
    capture.invoke(request("/v1/batch", {"batch": batch}))
    records = _records(capfd.readouterr().out)
    per_channel = {
        record["channel"]: record["EventsAcceptedByChannel"]
        for record in records
        if "EventsAcceptedByChannel" in record
    }
    totals = next(record for record in records if "EventsAccepted" in record)
    assert per_channel == {"web": [1.0], "app": [2.0]}
    assert totals["EventsAccepted"] == [3.0]
    assert totals["EventsRejected"] == [1.0]
