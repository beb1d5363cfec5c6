from __future__ import annotations

from typing import Any

import pytest

from capture.logic.channel_detection import detect_channel
from omnichannel.canonical_event import Channel


def _detect(
    message_type: str = "track",
    *,
    segment_channel: str | None = None,
    context: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    write_key_channel: Channel | None = None,
) -> Channel:
    return detect_channel(
        message_type,
        segment_channel=segment_channel,
        context=context or {},
        properties=properties or {},
        write_key_channel=write_key_channel,
    )


@pytest.mark.parametrize(
    ("library", "expected"),
    [
        ("analytics.js", Channel.WEB),
        ("@segment/analytics-next", Channel.WEB),
        ("analytics-ios", Channel.APP),
        ("analytics-android", Channel.APP),
        ("analytics-swift", Channel.APP),
        ("@segment/analytics-react-native", Channel.APP),
    ],
)
def test_the_sdk_tells_the_channel(library: str, expected: Channel) -> None:
    assert _detect(context={"library": {"name": library}}) is expected


def test_context_channel_wins_over_the_sdk_guess() -> None:
    assert _detect(context={"channel": "store", "library": {"name": "analytics-ios"}}) is Channel.STORE


def test_write_key_pin_wins_over_everything() -> None:
    assert _detect(context={"library": {"name": "analytics.js"}}, write_key_channel=Channel.APP) is Channel.APP
    assert _detect(context={"channel": "store"}, write_key_channel=Channel.WEB) is Channel.WEB


def test_properties_channel_is_attribution_not_the_touchpoint() -> None:
    assert _detect(properties={"channel": "email"}, context={"library": {"name": "analytics.js"}}) is Channel.WEB


def test_segment_channel_field() -> None:
    assert _detect(segment_channel="mobile") is Channel.APP
    assert _detect(segment_channel="browser") is Channel.WEB


def test_device_and_call_type() -> None:
    assert _detect(context={"os": {"name": "iOS"}}) is Channel.APP
    assert _detect(context={"device": {"type": "android"}}) is Channel.APP
    assert _detect("screen") is Channel.APP
    assert _detect("page") is Channel.WEB


def test_unknown_channel_names_are_ignored() -> None:
    assert _detect(context={"channel": "carrier-pigeon", "app": {"name": "Shop"}}) is Channel.APP
