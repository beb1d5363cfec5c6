from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from omnichannel.event_bus import MAX_BYTES_PER_CALL, BusEvent, EventBridgePublisher, chunks


def _events(count: int, size: int = 10) -> list[BusEvent]:
    return [
        BusEvent(
            event_id=f"e{i}", source="omnichannel.capture", detail_type="track", detail={"i": i, "pad": "x" * size}
        )
        for i in range(count)
    ]


def _ok(count: int) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"bus-{i}"} for i in range(count)]}


@pytest.fixture
def client() -> Any:
    return boto3.client("events", region_name="eu-west-1")


def test_publishes_in_chunks_of_at_most_ten(client: Any) -> None:
    # Given 23 events
    publisher = EventBridgePublisher(client, "bus", sleep=lambda _: None)
    with Stubber(client) as stub:
        for count in (10, 10, 3):
            stub.add_response("put_events", _ok(count), {"Entries": ANY})
        # When they are published
        result = publisher.publish(_events(23))
        stub.assert_no_pending_responses()
    # Then three calls carried them all
    assert result.calls == 3
    assert result.published == [f"e{i}" for i in range(23)]
    assert result.failed == {}


def test_chunks_respect_the_256_kb_request_limit() -> None:
    publisher = EventBridgePublisher(None, "bus")
    entries = [(event.event_id, publisher._entry(event)) for event in _events(5, size=100_000)]
    sizes = [len(chunk) for chunk in chunks(entries)]
    assert sum(sizes) == 5
    assert all(size <= MAX_BYTES_PER_CALL // 100_000 for size in sizes)


def test_retries_only_the_failed_entries(client: Any) -> None:
    # Given a first call where entries 1 and 3 fail with a throttling error
    publisher = EventBridgePublisher(client, "bus", sleep=lambda _: None)
    first = _ok(4)
    first["FailedEntryCount"] = 2
    first["Entries"][1] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
    first["Entries"][3] = {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}
    with Stubber(client) as stub:
        stub.add_response("put_events", first, {"Entries": ANY})
        stub.add_response("put_events", _ok(2), {"Entries": ANY})
        result = publisher.publish(_events(4))
        stub.assert_no_pending_responses()
    # Then one retry call settled both failures
    assert result.calls == 2
    assert sorted(result.published) == ["e0", "e1", "e2", "e3"]
    assert result.failed == {}


def test_retry_payload_is_only_the_failed_entries() -> None:
    # Given a client that records what it was asked to publish and fails e1 once
    calls: list[list[str]] = []

    class Recording:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            ids = [json.loads(entry["Detail"])["i"] for entry in Entries]
            calls.append([f"e{i}" for i in ids])
            if len(calls) == 1:
                return {
                    "FailedEntryCount": 1,
                    "Entries": [{"ErrorCode": "InternalFailure"} if i == 1 else {"EventId": "x"} for i in ids],
                }
            return _ok(len(ids))

    result = EventBridgePublisher(Recording(), "bus", sleep=lambda _: None).publish(_events(3))
    assert calls == [["e0", "e1", "e2"], ["e1"]]
    assert result.failed == {}


def test_gives_up_after_the_attempts_and_reports_what_failed() -> None:
    class AlwaysFails:
        calls = 0

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            AlwaysFails.calls += 1
            raise RuntimeError("bus unavailable")

    result = EventBridgePublisher(AlwaysFails(), "bus", attempts=3, sleep=lambda _: None).publish(_events(2))
    assert AlwaysFails.calls == 3
    assert result.published == []
    assert set(result.failed) == {"e0", "e1"}


def test_permanent_errors_are_not_retried() -> None:
    class Malformed:
        calls = 0

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            Malformed.calls += 1
            return {"FailedEntryCount": len(Entries), "Entries": [{"ErrorCode": "MalformedDetail"} for _ in Entries]}

    result = EventBridgePublisher(Malformed(), "bus", sleep=lambda _: None).publish(_events(1))
    assert Malformed.calls == 1
    assert result.failed == {"e0": "MalformedDetail"}


def test_trace_header_is_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    entry = EventBridgePublisher(None, "bus")._entry(_events(1)[0])
    assert entry["TraceHeader"].startswith("Root=1-")
    assert entry["EventBusName"] == "bus"
