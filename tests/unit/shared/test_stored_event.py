"""How capture's table keeps an event (omnichannel.stored_event): compact, compressed, readable in every form."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime

from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.stored_event import compact, compact_json, decode_event, encode_event, event_json

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEB_CONTEXT = {
    "ip": "203.0.113.9",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36",
    "userAgentData": {"brands": [{"brand": "Chromium", "version": "131"}], "mobile": False, "platform": "macOS"},
    "page": {"path": "/p/1", "url": "https://shop.example/p/1", "title": "Kırmızı tişört", "referrer": ""},
    "library": {"name": "analytics.js", "version": "next-1.70.0"},
    "campaign": {"source": "google", "medium": "cpc", "name": "kis"},
    "traits": {"email": "ayse@example.com"},
    "locale": "tr-TR",
    "timezone": "Europe/Istanbul",
}


def web_event() -> CanonicalEvent:
    return CanonicalEvent(
        event_id="e-1", message_id="m-1", source="web", type=EventType.PAGE, name="Product", channel=Channel.WEB,
        identifiers={"anonymous_id": "a-1"}, occurred_at=T0, received_at=T0,
        properties={"path": "/p/1", "url": "https://shop.example/p/1"}, context=WEB_CONTEXT,
    )  # fmt: skip


def test_compact_keeps_what_consumers_read_and_drops_the_rest_of_the_context() -> None:
    event = compact(web_event())

    assert set(event.context) == {"library", "campaign", "traits", "locale", "timezone"}
    assert event.context["traits"] == {"email": "ayse@example.com"}
    # everything outside context is untouched
    assert event.model_dump(exclude={"context"}) == web_event().model_dump(exclude={"context"})


def test_a_stored_event_is_compressed_and_reads_back_in_every_form() -> None:
    # Given the stored form of a typical web event
    text = compact_json(web_event())
    value = encode_event(text)

    # Then it is much smaller than the canonical JSON, and than zlib alone (the preset dictionary)
    assert len(value["B"]) < len(web_event().model_dump_json()) / 3
    assert len(value["B"]) < len(zlib.compress(text.encode(), 9)) * 0.8
    # And it reads back from boto3's bytes, from a Lambda stream record's base64, and from an older item's string
    lambda_form = {"B": base64.b64encode(value["B"]).decode()}
    without_dictionary = {"B": zlib.compress(text.encode())}  # written before the dictionary existed
    for attribute in (value, lambda_form, {"S": text}, without_dictionary):
        assert json.loads(event_json(attribute)) == json.loads(text)
        assert decode_event({"event": attribute}) == compact(web_event())
