"""Bad input on the tracking API: a clear 4xx with a JSON body naming the problem, and nothing else lost."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnichannel.identifiers import IdentifierType
from tests.support.capture_harness import CaptureHarness, body_of, header_of, wired_capture
from tests.support.capture_harness import tracking_request as request

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRETS = {"write_keys": {"k-web": {"source": "web-shop", "channel": "web"}, "k-any": {"source": "backend"}}}


@pytest.fixture
def capture() -> Iterator[CaptureHarness]:
    with wired_capture(SECRETS, NOW) as harness:
        yield harness


def _fields(response: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body_of(response).get("errors", [])]


TRACK = {"userId": "u-1", "event": "Product Added", "messageId": "m-1"}


def test_malformed_json_is_400_and_says_where(capture: CaptureHarness) -> None:
    response = capture.invoke(request("/v1/track", raw=b'{"userId": "u-1",'))
    assert response["statusCode"] == 400
    assert body_of(response)["code"] == "invalid_json"
    assert "position" in body_of(response)["message"]
    assert capture.store.events == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "x", "messageId": "m"}, "userId"),
        ({"userId": ["not", "a", "string"], "event": "x"}, "userId"),
        ({"userId": "u", "event": 42}, "event"),
        ({"userId": "u", "event": "x", "properties": []}, "properties"),
        ({"userId": "u", "event": "x", "timestamp": "next tuesday"}, "timestamp"),
        ({"userId": "u"}, "event"),
    ],
)
def test_wrong_types_and_missing_fields_are_400_naming_the_field(
    capture: CaptureHarness, body: dict[str, Any], field: str
) -> None:
    response = capture.invoke(request("/v1/track", body))
    assert response["statusCode"] == 400
    assert field in _fields(response)
    assert body_of(response)["success"] is False
    assert capture.store.events == []


def test_unknown_type_in_a_batch_is_reported(capture: CaptureHarness) -> None:
    response = capture.invoke(request("/v1/batch", {"batch": [{"type": "launch", "userId": "u"}]}))
    assert response["statusCode"] == 400
    assert _fields(response) == ["batch.0.type"]


def test_a_bad_message_does_not_sink_the_good_ones(capture: CaptureHarness) -> None:
    # Given a batch of good and bad messages
    batch = [
        {**TRACK, "type": "track", "messageId": "good-1"},
        {"type": "track", "event": "x", "anonymousId": "anonymous", "messageId": "bad-1"},
        "not an object",
        {"type": "identify", "anonymousId": "a-9", "traits": {"email": "Bob@Example.com"}, "messageId": "good-2"},
    ]
    response = capture.invoke(request("/v1/batch", {"batch": batch}))
    # Then the good ones are kept and published, the bad reported by index with their fields
    assert response["statusCode"] == 200
    answer = body_of(response)
    assert answer["accepted"] == 2
    assert [(item["index"], item["messageId"]) for item in answer["rejected"]] == [(1, "bad-1"), (2, None)]
    assert answer["rejected"][0]["errors"] == [{"field": "batch.1.anonymousId", "message": "placeholder value"}]
    assert sorted(event.message_id for event in capture.store.events) == ["good-1", "good-2"]
    assert len(capture.published_ids()) == 2


def test_missing_and_unknown_write_keys_are_401(capture: CaptureHarness) -> None:
    missing = capture.invoke(request("/v1/track", TRACK, key=None))
    unknown = capture.invoke(request("/v1/track", TRACK, key="stolen"))
    assert missing["statusCode"] == unknown["statusCode"] == 401
    assert header_of(missing, "www-authenticate") == 'Basic realm="tracking-api"'
    assert body_of(unknown)["code"] == "unauthorized"
    assert capture.store.events == []


def test_write_key_in_the_body_as_analytics_js_sends_it(capture: CaptureHarness) -> None:
    response = capture.invoke(request("/v1/t", {**TRACK, "writeKey": "k-web"}, key=None))
    assert response["statusCode"] == 200
    [event] = capture.store.events
    assert event.source == "web-shop"
    assert event.channel.value == "web"


def test_short_paths_map_to_their_calls(capture: CaptureHarness) -> None:
    capture.invoke(request("/v1/p", {"anonymousId": "a", "name": "Home", "messageId": "p1"}))
    capture.invoke(request("/v1/i", {"userId": "u", "traits": {"phone": "+90 532 123 45 67"}, "messageId": "i1"}))
    assert [event.type.value for event in capture.store.events] == ["page", "identify"]
    assert capture.store.events[1].identifiers[IdentifierType.PHONE] == "+905321234567"
    unknown = capture.invoke(request("/v1/x", TRACK))
    assert unknown["statusCode"] == 404


def test_oversize_single_call_and_batch_are_413(capture: CaptureHarness) -> None:
    big_call = {**TRACK, "properties": {"blob": "x" * (33 * 1024)}}
    big_batch = {
        "batch": [
            {**TRACK, "type": "track", "messageId": f"m{i}", "properties": {"p": "x" * 30_000}} for i in range(18)
        ]
    }
    assert capture.invoke(request("/v1/track", big_call))["statusCode"] == 413
    response = capture.invoke(request("/v1/batch", big_batch))
    assert response["statusCode"] == 413
    assert body_of(response)["code"] == "payload_too_large"
    assert capture.store.events == []


def test_an_oversize_message_inside_a_batch_is_refused_alone(capture: CaptureHarness) -> None:
    batch = [
        {**TRACK, "type": "track", "messageId": "small"},
        {**TRACK, "type": "track", "messageId": "big", "properties": {"b": "x" * 33_000}},
    ]
    response = capture.invoke(request("/v1/batch", {"batch": batch}))
    assert body_of(response)["accepted"] == 1
    assert body_of(response)["rejected"][0]["errors"][0]["message"] == "larger than 32 KB"


def test_gzip_bomb_stops_at_the_limit(capture: CaptureHarness) -> None:
    bomb = b'{"batch": [' + b" " * (20 * 1024 * 1024) + b"]}"
    response = capture.invoke(request("/v1/batch", raw=bomb, gzipped=True))
    assert response["statusCode"] == 413
    assert capture.store.events == []


def test_corrupt_gzip_and_unknown_encoding(capture: CaptureHarness) -> None:
    corrupt = request("/v1/batch", {"batch": []})
    corrupt["headers"]["content-encoding"] = "gzip"
    assert capture.invoke(corrupt)["statusCode"] == 400
    brotli = request("/v1/track", TRACK, headers={"content-encoding": "br"})
    response = capture.invoke(brotli)
    assert response["statusCode"] == 415
    assert body_of(response)["code"] == "unsupported_encoding"


def test_batch_envelope_errors_name_the_field(capture: CaptureHarness) -> None:
    assert _fields(capture.invoke(request("/v1/batch", {"messages": []}))) == ["batch"]
    assert _fields(capture.invoke(request("/v1/batch", ["a", "list"]))) == ["body"]
    assert _fields(capture.invoke(request("/v1/batch", {"batch": [], "sentAt": "soon"}))) == ["sentAt"]


def test_empty_batch_is_accepted_as_nothing(capture: CaptureHarness) -> None:
    response = capture.invoke(request("/v1/batch", {"batch": []}))
    assert response["statusCode"] == 200
    assert body_of(response)["accepted"] == 0


def test_a_timestamp_without_offset_is_utc_and_sinks_nothing(capture: CaptureHarness) -> None:
    # Given a message whose timestamp has no offset, in a batch whose sentAt has one
    batch = {
        "sentAt": "2026-11-23T11:59:30Z",
        "batch": [
            {**TRACK, "type": "track", "messageId": "naive", "timestamp": "2026-11-23T11:59:00"},
            {**TRACK, "type": "track", "messageId": "aware", "timestamp": "2026-11-23T11:59:00+00:00"},
        ],
    }
    response = capture.invoke(request("/v1/batch", batch))
    # Then both are accepted, read as UTC and corrected alike (30 s before arrival)
    assert response["statusCode"] == 200
    assert body_of(response)["accepted"] == 2
    assert {event.occurred_at for event in capture.store.events} == {NOW - timedelta(seconds=30)}


def test_a_message_too_deep_to_read_is_refused_alone(capture: CaptureHarness) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(900):
        node["n"] = {}
        node = node["n"]
    batch = [
        {**TRACK, "type": "track", "messageId": "ok"},
        {**TRACK, "type": "track", "messageId": "deep", "properties": deep},
    ]
    response = capture.invoke(request("/v1/batch", {"batch": batch}))
    assert response["statusCode"] == 200
    assert [event.message_id for event in capture.store.events] == ["ok"]
    assert body_of(response)["rejected"][0]["index"] == 1


def test_hostile_json_is_a_clean_4xx_and_a_wrong_key_is_refused_before_parsing(capture: CaptureHarness) -> None:
    # A wrong Basic-auth key is refused before the body is even parsed
    assert capture.invoke(request("/v1/track", raw=b"[" * 30_000, key="stolen"))["statusCode"] == 401
    # Without a header the body must be parsed (analytics.js puts writeKey in it): too deep is a 400, not a 500
    for key in (None, "k-any"):
        nested = capture.invoke(request("/v1/track", raw=b"[" * 30_000, key=key))
        assert nested["statusCode"] == 400
        assert body_of(nested)["code"] == "invalid_json"


def test_batch_context_is_capped_and_merged_events_stay_small(capture: CaptureHarness) -> None:
    # A 40 KB batch context would be copied into every message: refused, naming the field
    huge = capture.invoke(
        request("/v1/batch", {"context": {"blob": "x" * 40_000}, "batch": [{**TRACK, "type": "track"}]})
    )
    assert huge["statusCode"] == 400
    assert _fields(huge) == ["context"]
    # A message near 32 KB with a context near 32 KB is refused alone once merged past 64 KB
    batch = {
        "context": {"blob": "c" * 32_700},
        "batch": [
            {**TRACK, "type": "track", "messageId": "big", "properties": {"blob": "m" * 32_600}},
            {**TRACK, "type": "track", "messageId": "small"},
        ],
    }
    response = capture.invoke(request("/v1/batch", batch))
    assert body_of(response)["accepted"] == 1
    assert "64 KB" in body_of(response)["rejected"][0]["errors"][0]["message"]


def test_trailing_slash_paths_of_analytics_java(capture: CaptureHarness) -> None:
    response = capture.invoke(request("/v1/import/", {"batch": [{**TRACK, "type": "track"}]}))
    assert response["statusCode"] == 200
    assert body_of(response)["accepted"] == 1


def test_gzip_with_trailing_garbage_or_truncated_is_refused(capture: CaptureHarness) -> None:
    body = gzip.compress(json.dumps({"batch": [{**TRACK, "type": "track"}]}).encode())
    for broken in (body + b"garbage", body[:-8]):
        event = request("/v1/batch", raw=broken)
        event["headers"]["content-encoding"] = "gzip"
        response = capture.invoke(event)
        assert response["statusCode"] == 400
        assert body_of(response)["code"] == "invalid_body"
    assert capture.store.events == []
