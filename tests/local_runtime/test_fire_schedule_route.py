"""POST /_local/schedules: a local-runtime-only route that fires a function's schedule now (the demo runs the cart
abandonment sweep with it, after everything it sent has been delivered)."""

from __future__ import annotations

import pytest

from local_runtime import LocalRuntime
from tests.local_runtime.support import recorded


def test_settle_delivers_what_is_pending_before_the_schedule_fires(runtime: LocalRuntime) -> None:
    # Given an order on the bus, not yet delivered
    runtime.put_event("Order Completed", {"event_id": "o-1"}, source="fixture.shop")
    assert recorded(runtime, "orders") == []

    # When the route fires TickFunction's five-minute schedule, settling first
    status, _, _ = runtime.request(
        "POST", "/_local/schedules", body={"function": "TickFunction", "event": "Every5", "settle": True}
    )
    answer = runtime.request("POST", "/_local/schedules", body={"function": "TickFunction", "event": "Every5"})

    # Then the order was delivered first, and each call delivered one Scheduled Event
    assert status == 200
    assert [event["detail"]["event_id"] for event in recorded(runtime, "orders")] == ["o-1"]
    assert answer.json() == {"deliveries": [{"trigger": "TickFunction.Every5", "outcome": "delivered"}]}
    assert [tick["detail-type"] for tick in recorded(runtime, "ticks")] == ["Scheduled Event", "Scheduled Event"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{", 400, "invalid_json", None),
        (b'{"event": "Every5"}', 400, "invalid_field", "function"),
        (b'{"function": "TickFunction", "event": 5}', 400, "invalid_field", "event"),
        (b'{"function": "NoSuchFunction"}', 404, "no_schedule", "function"),
        (b'{"function": "TickFunction", "event": "Hourly"}', 404, "no_schedule", "function"),
    ],
)
def test_unknown_functions_and_broken_bodies_are_refused_naming_the_field(
    runtime: LocalRuntime, body: bytes, status: int, code: str, field: str | None
) -> None:
    runtime.put_event("Order Completed", {"event_id": "o-2"}, source="fixture.shop")
    answer = runtime.request("POST", "/_local/schedules", body=body.replace(b"}", b', "settle": true}'))
    assert answer.status == status
    assert answer.json()["code"] == code
    assert answer.json().get("field") == field
    assert recorded(runtime, "ticks") == []
    assert recorded(runtime, "orders") == []  # refused before settling: nothing was delivered
