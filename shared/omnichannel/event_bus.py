"""Publishing to the EventBridge bus: PutEvents in chunks of at most 10 entries and 256 KB, retrying only the
entries that failed (FailedEntryCount), with the X-Ray trace header attached.

Callers get back the ids that still failed after the retries; the capture outbox keeps those for later.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRIES_PER_CALL = 10
MAX_BYTES_PER_CALL = 256 * 1024
# Entries that fail with these codes will not succeed on a retry.
PERMANENT_ERRORS = frozenset({"MalformedDetail", "InvalidArgument", "ValidationException"})


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
            "Detail": json.dumps(event.detail, separators=(",", ":"), ensure_ascii=False, default=str),
        }
        if event.resources:
            entry["Resources"] = list(event.resources)
        trace_header = os.environ.get("_X_AMZN_TRACE_ID")
        if trace_header:
            entry["TraceHeader"] = trace_header
        return entry

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        result = PublishResult()
        pending = [(event.event_id, self._entry(event)) for event in events]
        for attempt in range(self._attempts):
            retry: list[tuple[str, PutEventsRequestEntryTypeDef]] = []
            for chunk in chunks(pending):
                result.calls += 1
                try:
                    response = self._client.put_events(Entries=[entry for _, entry in chunk])
                except Exception as exc:
                    code = type(exc).__name__
                    for event_id, entry in chunk:
                        result.failed[event_id] = code
                        retry.append((event_id, entry))
                    continue
                for (event_id, entry), outcome in zip(chunk, response["Entries"], strict=True):
                    error = outcome.get("ErrorCode")
                    if error is None:
                        result.published.append(event_id)
                        result.failed.pop(event_id, None)
                    else:
                        result.failed[event_id] = error
                        if error not in PERMANENT_ERRORS:
                            retry.append((event_id, entry))
            if not retry:
                break
            pending = retry
            if attempt + 1 < self._attempts:
                self._sleep(self._backoff * (2**attempt))
        return result


class InMemoryPublisher:
    """A publisher for unit tests and benchmarks: records what was published, can fail on demand."""

    def __init__(self, fail_ids: set[str] | None = None) -> None:
        self.events: list[BusEvent] = []
        self.fail_ids = fail_ids or set()

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        result = PublishResult(calls=(len(events) + MAX_ENTRIES_PER_CALL - 1) // MAX_ENTRIES_PER_CALL)
        for event in events:
            if event.event_id in self.fail_ids:
                result.failed[event.event_id] = "InternalFailure"
            else:
                self.events.append(event)
                result.published.append(event.event_id)
        return result
