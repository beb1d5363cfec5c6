from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from omnichannel.event_bus import (
    ENTRY_TOO_LARGE,
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_ENTRY,
    PERMANENT_ERRORS,
    BusEvent,
    EventBridgePublisher,
    InMemoryPublisher,
    chunks,
    entry_size,
)


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


def _client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "PutEvents")


class RefusesRequestsWith:
    """A bus that refuses a whole request (not single entries) when it carries an event it cannot take."""

    def __init__(self, bad: set[int], code: str = "ValidationException", status: int = 400) -> None:
        self.bad, self.code, self.status = bad, code, status
        self.requests: list[list[int]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [json.loads(entry["Detail"])["i"] for entry in Entries]
        self.requests.append(ids)
        if self.bad & set(ids):
            raise _client_error(self.code, self.status)
        return _ok(len(ids))


def test_a_request_refused_as_a_whole_is_split_to_isolate_the_bad_entry() -> None:
    # Given a bus that answers ValidationException to any request carrying event 2
    bus = RefusesRequestsWith(bad={2})
    slept: list[float] = []
    # When four events are published
    result = EventBridgePublisher(bus, "bus", sleep=slept.append).publish(_events(4))
    # Then the chunk was retried one entry per call, the good three went out and only the bad one failed
    assert bus.requests == [[0, 1, 2, 3], [0], [1], [2], [3]]
    assert sorted(result.published) == ["e0", "e1", "e3"]
    assert result.failed == {"e2": "ValidationException"}
    assert result.calls == 5
    # And a permanent refusal is not retried later
    assert slept == []


def test_a_single_entry_refused_for_a_reason_that_may_pass_is_retried() -> None:
    bus = RefusesRequestsWith(bad={0}, code="AccessDeniedException")
    result = EventBridgePublisher(bus, "bus", attempts=3, sleep=lambda _: None).publish(_events(1))
    assert bus.requests == [[0], [0], [0]]
    assert result.failed == {"e0": "AccessDeniedException"}


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("InternalException", 500), ("ServiceUnavailable", 503)],
)
def test_throttled_or_failing_requests_are_retried_whole_with_backoff(code: str, status: int) -> None:
    # Given a bus that refuses the first request as a whole with a throttling or server error
    class Busy:
        requests: list[int] = []  # noqa: RUF012

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            self.requests.append(len(Entries))
            if len(self.requests) == 1:
                raise _client_error(code, status)
            return _ok(len(Entries))

    bus = Busy()
    slept: list[float] = []
    result = EventBridgePublisher(bus, "bus", backoff_seconds=0.05, sleep=slept.append).publish(_events(4))
    # Then the whole chunk was retried once, after a pause, and not split
    assert bus.requests == [4, 4]
    assert slept == [0.05]
    assert sorted(result.published) == ["e0", "e1", "e2", "e3"]
    assert result.failed == {}


def test_an_entry_too_large_for_the_bus_is_not_sent_and_reported() -> None:
    # Given three events of which the middle one cannot fit in a PutEvents entry
    events = _events(3)
    events[1] = BusEvent(
        event_id="e1", source="omnichannel.capture", detail_type="track", detail={"i": 1, "pad": "x" * 300_000}
    )
    calls: list[list[int]] = []

    class Recording:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            calls.append([json.loads(entry["Detail"])["i"] for entry in Entries])
            return _ok(len(Entries))

    result = EventBridgePublisher(Recording(), "bus", sleep=lambda _: None).publish(events)
    # Then it is never sent, is reported with its own error code, a permanent one, and the others go out
    assert calls == [[0, 2]]
    assert result.failed == {"e1": ENTRY_TOO_LARGE}
    assert ENTRY_TOO_LARGE in PERMANENT_ERRORS
    assert sorted(result.published) == ["e0", "e2"]


def test_an_entry_at_the_size_limit_is_sent() -> None:
    publisher = EventBridgePublisher(None, "bus")
    probe = publisher._entry(BusEvent("e0", "omnichannel.capture", "track", {"pad": ""}))
    pad = MAX_BYTES_PER_ENTRY - entry_size(probe)
    event = BusEvent("e0", "omnichannel.capture", "track", {"pad": "x" * pad})
    assert entry_size(publisher._entry(event)) == MAX_BYTES_PER_ENTRY

    class Accepting:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            return _ok(len(Entries))

    assert EventBridgePublisher(Accepting(), "bus").publish([event]).published == ["e0"]


def test_the_in_memory_bus_refuses_what_the_real_one_refuses() -> None:
    big = BusEvent("big", "omnichannel.capture", "track", {"pad": "x" * 300_000})
    bus = InMemoryPublisher(fail_ids={"e0"}, errors={"e1": "MalformedDetail"})
    result = bus.publish([*_events(3), big])
    assert result.failed == {"e0": "InternalFailure", "e1": "MalformedDetail", "big": ENTRY_TOO_LARGE}
    assert [event.event_id for event in bus.events] == ["e2"]
