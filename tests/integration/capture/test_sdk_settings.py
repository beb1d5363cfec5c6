"""analytics.js's settings: ``GET /v1/projects/{writeKey}/settings`` answers Segment's CDN shape, pointing
Segment.io at this API, for a known write key only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from capture.logic.sdk_settings import api_target
from capture.settings import get_settings
from tests.support.capture_harness import CaptureHarness, body_of, header_of, wired_capture

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRETS = {"write_keys": {"k-web": {"source": "web-shop", "channel": "web"}}, "bootstrap_write_key": "boot-key"}


@pytest.fixture
def capture() -> Iterator[CaptureHarness]:
    with wired_capture(SECRETS, NOW) as harness:
        yield harness


def settings_request(write_key: str, *, domain: str = "abc123.execute-api.eu-west-1.amazonaws.com", **headers: str):
    path = f"/v1/projects/{write_key}/settings"
    return {
        "version": "2.0",
        "routeKey": "GET /v1/projects/{writeKey}/settings",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-forwarded-proto": "https", **headers},
        "pathParameters": {"writeKey": write_key},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "r-1",
            "routeKey": "GET /v1/projects/{writeKey}/settings",
            "stage": "$default",
            "domainName": domain,
        },
        "isBase64Encoded": False,
    }


def _segment_io(response: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = body_of(response)["integrations"]["Segment.io"]
    return settings


def test_known_key_gets_settings_pointing_segment_io_at_this_api(capture: CaptureHarness) -> None:
    # When analytics.js asks for the settings of a configured write key
    response = capture.invoke(settings_request("k-web"))
    # Then they send every call back to the domain API Gateway was reached on, over https
    assert response["statusCode"] == 200
    segment_io = _segment_io(response)
    assert (segment_io["apiKey"], segment_io["protocol"]) == ("k-web", "https")
    assert segment_io["apiHost"] == "abc123.execute-api.eu-west-1.amazonaws.com/v1"
    body = body_of(response)
    # ... with no other integration to load a bundle for, no middleware or plugin, and no telemetry to Segment
    assert list(body["integrations"]) == ["Segment.io"]
    assert body["metrics"]["sampleRate"] == 0
    assert body["remotePlugins"] == []
    assert not any(body["enabledMiddleware"].values())
    assert body["legacyVideoPluginsEnabled"] is False
    assert header_of(response, "cache-control") == "public, max-age=300"


def test_the_bootstrap_write_key_has_settings_too(capture: CaptureHarness) -> None:
    response = capture.invoke(settings_request("boot-key"))
    assert response["statusCode"] == 200
    assert _segment_io(response)["apiKey"] == "boot-key"


def test_unknown_key_is_404_naming_the_write_key(capture: CaptureHarness) -> None:
    response = capture.invoke(settings_request("nobody-has-this"))
    assert response["statusCode"] == 404
    assert body_of(response) == {
        "success": False,
        "code": "unknown_write_key",
        "message": "no such write key",
        "errors": [{"field": "path.writeKey", "message": "no such write key"}],
    }


def test_a_forged_host_header_does_not_move_the_api(capture: CaptureHarness) -> None:
    # Given a caller who sends its own Host header (a cache in front would keep what it got)
    response = capture.invoke(settings_request("k-web", host="evil.example", **{"x-forwarded-host": "evil.example"}))
    # Then the settings still name the domain API Gateway served
    assert _segment_io(response)["apiHost"] == "abc123.execute-api.eu-west-1.amazonaws.com/v1"


def test_public_base_url_with_a_base_path_wins(capture: CaptureHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the API behind a custom domain with a base path (the PublicBaseUrl parameter)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.shop.com.tr/cx/")
    get_settings.cache_clear()
    try:
        response = capture.invoke(settings_request("k-web"))
    finally:
        get_settings.cache_clear()
    assert _segment_io(response)["apiHost"] == "api.shop.com.tr/cx/v1"
    assert _segment_io(response)["protocol"] == "https"


def test_local_runtime_over_http_keeps_http(capture: CaptureHarness) -> None:
    response = capture.invoke(settings_request("k-web", domain="127.0.0.1:3000", **{"x-forwarded-proto": "http"}))
    assert (_segment_io(response)["protocol"], _segment_io(response)["apiHost"]) == ("http", "127.0.0.1:3000/v1")


@pytest.mark.parametrize("origin", ["", "ftp://x.example", "https://", "api.shop.com"])
def test_api_target_refuses_what_is_not_an_http_origin(origin: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        api_target(origin)
