"""Which channel a tracking-API message came from.

In order: the channel pinned to the write key (a key issued to the app is the app, whatever a message says);
``context.channel`` naming one of ours (``properties.channel`` is left alone: marketers use it for
attribution, "email" there means the campaign, not the touchpoint); Segment's top-level ``channel``
(browser → web, mobile → app); the SDK that sent it (``context.library.name``); the device
(``context.device`` / ``context.os``: iOS, Android → app); the call type (screen → app); otherwise web.
"""

from __future__ import annotations

from typing import Any

from omnichannel.canonical_event import Channel

_CHANNELS = {channel.value: channel for channel in Channel}
_SEGMENT_CHANNEL = {"browser": Channel.WEB, "mobile": Channel.APP}
_APP_LIBRARIES = ("ios", "android", "swift", "kotlin", "react-native", "flutter", "xamarin", "unity", "mobile")
_WEB_LIBRARIES = ("analytics.js", "analytics-next", "analytics-js", "rudder-sdk-js", "web")
_MOBILE_OS = ("ios", "ipados", "android")


def _named(value: Any) -> Channel | None:
    return _CHANNELS.get(value.strip().lower()) if isinstance(value, str) else None


def detect_channel(
    message_type: str,
    *,
    segment_channel: str | None,
    context: dict[str, Any],
    properties: dict[str, Any],
    write_key_channel: Channel | None,
) -> Channel:
    if write_key_channel:
        return write_key_channel
    explicit = _named(context.get("channel"))
    if explicit:
        return explicit
    if segment_channel and segment_channel.lower() in _SEGMENT_CHANNEL:
        return _SEGMENT_CHANNEL[segment_channel.lower()]
    library = context.get("library")
    library_name = str(library.get("name", "")).lower() if isinstance(library, dict) else ""
    if any(marker in library_name for marker in _APP_LIBRARIES):
        return Channel.APP
    if any(marker in library_name for marker in _WEB_LIBRARIES):
        return Channel.WEB
    os_info = context.get("os")
    os_name = str(os_info.get("name", "")).lower() if isinstance(os_info, dict) else ""
    device = context.get("device")
    device_type = str(device.get("type", "")).lower() if isinstance(device, dict) else ""
    if os_name in _MOBILE_OS or device_type in _MOBILE_OS or isinstance(context.get("app"), dict):
        return Channel.APP
    if message_type == "screen":
        return Channel.APP
    return Channel.WEB
