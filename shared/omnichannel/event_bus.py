"""Publishing to the EventBridge bus: PutEvents in chunks of at most 10 entries and 256 KB, retrying only the
entries that failed (FailedEntryCount), with the X-Ray trace header attached.

- An entry that cannot fit in a PutEvents request (over 256 KB by EventBridge's size formula) is never sent: it
  fails at once with ``EntryTooLarge``, a permanent error.
- A request refused as a whole is retried whole, with backoff, when the bus is throttling or failing (throttling
  codes, 429, 5xx, no answer at all); when it is refused for anything else (``ValidationException`` ...) a chunk
  of several entries is sent again one entry per call, so the entry the bus refuses is isolated and the others
  go out.
- Entries failing with a permanent error (``PERMANENT_ERRORS``) are not retried.

Callers get back, per event id, the error of what still failed after the retries; the capture outbox keeps
the transient ones for a later attempt and dead-letters the permanent ones.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from omnichannel.retry import attempts

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRIES_PER_CALL = 10
MAX_BYTES_PER_CALL = 256 * 1024
MAX_BYTES_PER_ENTRY = MAX_BYTES_PER_CALL  # an entry goes in a request of its own at most
ENTRY_TOO_LARGE = "EntryTooLarge"  # our code for an entry that is never sent because it cannot fit
# Entries that fail with these codes will not succeed on a retry.
PERMANENT_ERRORS = frozenset({"MalformedDetail", "InvalidArgument", "ValidationException", ENTRY_TOO_LARGE})
# Request-level errors that mean "not now" rather than "not this request" (botocore's throttling codes).
THROTTLING_ERRORS = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
SERVER_ERRORS = frozenset({"InternalFailure", "InternalException", "InternalError", "ServiceUnavailable"})


@dataclass(frozen=True)
class BusEvent:
    """One entry for the bus. ``event_id`` is the idempotency key every consumer uses."""

    event_id: str
    source: str
    detail_type: str
    detail: dict[str, Any]
    resources: tuple[str, ...] = ()


@dataclass
class PublishResult:
    published: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # event_id -> last error code
    calls: int = 0


class EventPublisher(Protocol):
    def publish(self, events: Sequence[BusEvent]) -> PublishResult: ...


def error_code(error: Exception) -> str:
    """The AWS error code of a refused request (``ValidationException`` ...), else the exception's type name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


def is_transient(error: Exception) -> bool:
    """Whether a request refused as a whole may pass unchanged later: throttling, a server error, no answer."""
    if not isinstance(error, ClientError):
        return True  # timeouts, connection errors: the request never got an answer
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    code = error_code(error)
    return status >= 500 or status == 429 or code in THROTTLING_ERRORS or code in SERVER_ERRORS


def detail_json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """EventBridge's own size formula for one PutEvents entry."""
    size = len(entry["Source"].encode()) + len(entry["DetailType"].encode()) + len(entry["Detail"].encode())
    size += sum(len(resource.encode()) for resource in entry.get("Resources", []))
    return size + (14 if "Time" in entry else 0)


def chunks(entries: Sequence[tuple[str, PutEventsRequestEntryTypeDef]]) -> Iterator[list[tuple[str, Any]]]:
    chunk: list[tuple[str, Any]] = []
    size = 0
    for event_id, entry in entries:
        item_size = entry_size(entry)
        if chunk and (len(chunk) == MAX_ENTRIES_PER_CALL or size + item_size > MAX_BYTES_PER_CALL):
            yield chunk
            chunk, size = [], 0
        chunk.append((event_id, entry))
        size += item_size
    if chunk:
        yield chunk


class EventBridgePublisher:
    """PutEvents with per-entry retries. ``client`` is a boto3 EventBridge client."""

    def __init__(
        self,
        client: Any,
        bus_name: str,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sleep = sleep

    def _entry(self, event: BusEvent) -> PutEventsRequestEntryTypeDef:
        entry: PutEventsRequestEntryTypeDef = {
            "EventBusName": self._bus_name,
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": detail_json(event.detail),
        }
        if event.resources:
            entry["Resources"] = list(event.resources)
        trace_header = os.environ.get("_X_AMZN_TRACE_ID")
        if trace_header:
            entry["TraceHeader"] = trace_header
        return entry

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        result = PublishResult()
        pending: list[tuple[str, PutEventsRequestEntryTypeDef]] = []
        for event in events:
            entry = self._entry(event)
            if entry_size(entry) > MAX_BYTES_PER_ENTRY:
                result.failed[event.event_id] = ENTRY_TOO_LARGE  # the bus would refuse it: never sent
            else:
                pending.append((event.event_id, entry))
        for _attempt in attempts(self._attempts, base=self._backoff, cap=5.0, jitter=False, sleep=self._sleep):
            retry: list[tuple[str, PutEventsRequestEntryTypeDef]] = []
            for chunk in chunks(pending):
                self._send(chunk, result, retry)
            if not retry:
                break
            pending = retry
        return result

    def _send(
        self,
        chunk: list[tuple[str, PutEventsRequestEntryTypeDef]],
        result: PublishResult,
        retry: list[tuple[str, PutEventsRequestEntryTypeDef]],
    ) -> None:
        """One PutEvents call: records what went out, what failed, and what is worth another attempt."""
        result.calls += 1
        try:
            response = self._client.put_events(Entries=[entry for _, entry in chunk])
        except Exception as exc:
            if len(chunk) > 1 and not is_transient(exc):
                for single in chunk:  # refused for its content: one entry per call isolates the bad one
                    self._send([single], result, retry)
                return
            code = error_code(exc)
            for event_id, entry in chunk:
                result.failed[event_id] = code
                if code not in PERMANENT_ERRORS:
                    retry.append((event_id, entry))
            return
        for (event_id, entry), outcome in zip(chunk, response["Entries"], strict=True):
            error = outcome.get("ErrorCode")
            if error is None:
                result.published.append(event_id)
                result.failed.pop(event_id, None)
            else:
                result.failed[event_id] = error
                if error not in PERMANENT_ERRORS:
                    retry.append((event_id, entry))


class InMemoryPublisher:
    """A publisher for unit tests and benchmarks: records what was published, can fail on demand.

    ``fail_ids`` fail with a transient ``InternalFailure``, ``errors`` with the error code given per id; like the
    real bus, an entry too large to send fails with ``EntryTooLarge``.
    """

    def __init__(self, fail_ids: set[str] | None = None, errors: dict[str, str] | None = None) -> None:
        self.events: list[BusEvent] = []
        self.fail_ids = fail_ids or set()
        self.errors = errors or {}

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        result = PublishResult(calls=(len(events) + MAX_ENTRIES_PER_CALL - 1) // MAX_ENTRIES_PER_CALL)
        for event in events:
            entry: PutEventsRequestEntryTypeDef = {
                "Source": event.source,
                "DetailType": event.detail_type,
                "Detail": detail_json(event.detail),
            }
            if event.event_id in self.errors:
                result.failed[event.event_id] = self.errors[event.event_id]
            elif event.event_id in self.fail_ids:
                result.failed[event.event_id] = "InternalFailure"
            elif entry_size(entry) > MAX_BYTES_PER_ENTRY:
                result.failed[event.event_id] = ENTRY_TOO_LARGE
            else:
                self.events.append(event)
                result.published.append(event.event_id)
        return result
