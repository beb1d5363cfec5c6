from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from omnichannel.canonical_event import MAX_DETAIL_TYPE_LENGTH, CanonicalEvent, Channel, EventType, event_id_for

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _track(name: str | None, type_: EventType = EventType.TRACK) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=event_id_for("test", "m1"),
        message_id="m1",
        source="test",
        type=type_,
        name=name,
        channel=Channel.WEB,
        occurred_at=T0,
        received_at=T0,
    )


def test_the_bus_limit_is_eventbridges() -> None:
    assert MAX_DETAIL_TYPE_LENGTH == 128


@pytest.mark.parametrize(
    "name",
    [
        "Product Added " * 80,  # a Segment event name may be up to 1024 characters
        "Ürün Sepete Eklendi " * 40,
        "🛒" * 300,  # outside the Basic Multilingual Plane: two UTF-16 units each
    ],
)
def test_a_long_event_name_gives_a_detail_type_the_bus_accepts_and_keeps_the_full_name(name: str) -> None:
    # Given a track event whose name is longer than EventBridge's DetailType limit
    event = _track(name)
    # Then its detail-type fits, is the start of the name, and the full name stays in the detail
    assert 0 < len(event.detail_type) <= MAX_DETAIL_TYPE_LENGTH
    assert len(event.detail_type.encode("utf-16-le")) // 2 <= MAX_DETAIL_TYPE_LENGTH
    assert name.startswith(event.detail_type)
    assert event.to_bus_detail()["name"] == name


def test_a_name_of_exactly_128_characters_is_kept_whole() -> None:
    name = "x" * MAX_DETAIL_TYPE_LENGTH
    assert _track(name).detail_type == name


def test_detail_type_is_the_call_type_when_there_is_no_event_name() -> None:
    assert _track(None).detail_type == "track"
    assert _track("Home", EventType.PAGE).detail_type == "page"


def test_a_detail_with_an_unknown_field_parses() -> None:
    # Given the bus detail of a later version of capture, which added a field this reader does not know
    detail: dict[str, Any] = {**_track("Product Added").to_bus_detail(), "consent": {"marketing": True}}
    # When a consumer parses it
    event = CanonicalEvent.model_validate(detail)
    # Then it parses, without the unknown field
    assert event == _track("Product Added")
    assert "consent" not in event.to_bus_detail()
