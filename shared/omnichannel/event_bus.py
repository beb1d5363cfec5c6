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

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
# Bundles (see the section at the end of this module).
BUNDLE_DETAIL_TYPE = "bundle"
BUS_BUNDLING_VARIABLE = "BUS_BUNDLING"
BUNDLED = "bundled"
SINGLE = "single"
BILLING_CHUNK_BYTES = 64 * 1024
# A bundle's entry stays within one billed chunk on the bus *and* in a consumer's queue, where the message is the
# EventBridge envelope around the detail (version, id, account, time, region, resources: about 300 bytes).
MAX_BYTES_PER_BUNDLE = BILLING_CHUNK_BYTES - 1024


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


def _inner_ids(event: BusEvent) -> set[str]:
    if event.detail_type != BUNDLE_DETAIL_TYPE or not isinstance(event.detail.get("events"), list):
        return set()
    return {str(inner.get("id")) for inner in event.detail["events"] if isinstance(inner, dict)}


class InMemoryPublisher:
    """A publisher for unit tests and benchmarks: records what was published, can fail on demand.

    ``fail_ids`` fail with a transient ``InternalFailure``, ``errors`` with the error code given per id (a bundle
    fails if an event inside it is named); like the real bus, an entry too large to send fails with ``EntryTooLarge``.
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
            inside = {event.event_id} | _inner_ids(event)  # a bundle fails if an event inside it is told to
            if inside & self.errors.keys():
                result.failed[event.event_id] = self.errors[min(inside & self.errors.keys())]
            elif inside & self.fail_ids:
                result.failed[event.event_id] = "InternalFailure"
            elif entry_size(entry) > MAX_BYTES_PER_ENTRY:
                result.failed[event.event_id] = ENTRY_TOO_LARGE
            else:
                self.events.append(event)
                result.published.append(event.event_id)
        return result


# ---------------------------------------------------------------------------------------------------- bundles
#
# EventBridge bills an entry per 64 KB chunk and SQS a request per 64 KB chunk, so the high-volume publishers (the
# capture, profiles and carts stream publishers) put a stream batch's events on the bus in *bundles*: one entry of
# ``detail-type`` ``bundle`` holding as many of them as fit one 64 KB chunk. Its detail is
# ``{"kinds": [the distinct detail-types inside, sorted], "events": [{"id", "detail-type", "time", "detail"}, ...]}``
# where each inner event is exactly what would have been published alone (the same event id, detail-type and
# detail; ``time`` is when it was put on the bus). A rule matches a bundle with
# ``{"detail-type": ["bundle"], "detail": {"kinds": [...]}}`` (an array matches if any element does), and
# ``omnichannel.bus_batch`` expands it into its events. The template's ``BusBundling`` parameter
# (``BUS_BUNDLING``: ``bundled`` | ``single``) turns it off for integrators who subscribe to single events.


def billed_chunks(size: int) -> int:
    """How many 64 KB chunks EventBridge (per entry) or SQS (per request) bills for ``size`` bytes."""
    return max(1, -(-size // BILLING_CHUNK_BYTES))


def bundling_from_env() -> bool:
    """Whether ``BUS_BUNDLING`` asks for bundles (template.yaml sets it from ``BusBundling``; unset: single)."""
    value = os.environ.get(BUS_BUNDLING_VARIABLE, SINGLE).strip().lower()
    if value not in (BUNDLED, SINGLE):
        raise RuntimeError(f"{BUS_BUNDLING_VARIABLE} must be {BUNDLED!r} or {SINGLE!r}")
    return value == BUNDLED


def bus_time(moment: datetime | None = None) -> str:
    """An event's ``time`` as EventBridge writes it (UTC, to the second)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def inner_event(event: BusEvent, at: str) -> dict[str, Any]:
    """One event inside a bundle: what it would have been alone."""
    return {"id": event.event_id, "detail-type": event.detail_type, "time": at, "detail": event.detail}


def bundle_id(event_ids: Sequence[str]) -> str:
    """A bundle's own id (for the publisher's bookkeeping only: it never reaches the bus), from its events' ids."""
    digest = hashlib.sha256("\n".join(event_ids).encode()).hexdigest()[:32]
    return f"{BUNDLE_DETAIL_TYPE}:{digest}"


def _bundle_entry_size(source: str, kinds: set[str], inner_bytes: int, count: int) -> int:
    """EventBridge's size of a bundle entry, exactly: ``{"kinds":[..],"events":[..]}`` in compact JSON."""
    kinds_json = json.dumps(sorted(kinds), separators=(",", ":"), ensure_ascii=False)
    detail = len('{"kinds":,"events":[]}') + len(kinds_json.encode()) + inner_bytes + max(0, count - 1)
    return len(source.encode()) + len(BUNDLE_DETAIL_TYPE) + detail


def _bundle_of(members: Sequence[BusEvent], at: str) -> BusEvent:
    return BusEvent(
        event_id=bundle_id([member.event_id for member in members]),
        source=members[0].source,
        detail_type=BUNDLE_DETAIL_TYPE,
        detail={
            "kinds": sorted({member.detail_type for member in members}),
            "events": [inner_event(member, at) for member in members],
        },
    )


def bundle(
    events: Sequence[BusEvent], at: str, limit: int = MAX_BYTES_PER_BUNDLE
) -> list[tuple[BusEvent, list[BusEvent]]]:
    """``events`` packed into as few bundles as fit ``limit`` bytes each (EventBridge's size formula), in order and
    per source: (entry, the events it carries). An event with resources, or too big to share a bundle, goes alone
    as it is (its entry is itself); so does a bundle of one."""
    out: list[tuple[BusEvent, list[BusEvent]]] = []
    open_bundles: dict[str, tuple[list[BusEvent], set[str], int]] = {}  # source -> (events, kinds, inner bytes)

    def close(source: str) -> None:
        members, _, _ = open_bundles.pop(source)
        out.append((members[0] if len(members) == 1 else _bundle_of(members, at), members))

    for event in events:
        inner_bytes = len(detail_json(inner_event(event, at)).encode())
        if event.resources or _bundle_entry_size(event.source, {event.detail_type}, inner_bytes, 1) > limit:
            out.append((event, [event]))
            continue
        members, kinds, size = open_bundles.get(event.source, ([], set(), 0))
        grown = _bundle_entry_size(event.source, kinds | {event.detail_type}, size + inner_bytes, len(members) + 1)
        if members and grown > limit:
            close(event.source)
            members, kinds, size = [], set(), 0
        open_bundles[event.source] = ([*members, event], kinds | {event.detail_type}, size + inner_bytes)
    for source in list(open_bundles):
        close(source)
    return out


class BundlingPublisher:
    """Puts events on the bus in bundles (see above) through ``publisher``, and reports per *event*, as if each had
    been published alone: a bundle published publishes its events; a bundle failed for a passing reason fails its
    events with that code (the callers park or retry them, one by one as today); a bundle the bus refuses for good
    is not given up on: its events are published again alone, so that only the one at fault is refused."""

    def __init__(
        self,
        publisher: EventPublisher,
        *,
        clock: Callable[[], datetime] | None = None,
        limit: int = MAX_BYTES_PER_BUNDLE,
    ) -> None:
        self._publisher = publisher
        self._clock = clock or (lambda: datetime.now(UTC))
        self._limit = limit

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        packed = bundle(events, bus_time(self._clock()), self._limit)
        members = {entry.event_id: carried for entry, carried in packed}
        sent = self._publisher.publish([entry for entry, _ in packed])
        result = PublishResult(calls=sent.calls)
        alone: list[BusEvent] = []
        for entry_id in sent.published:
            result.published.extend(event.event_id for event in members.get(entry_id, []))
        for entry_id, code in sent.failed.items():
            carried = members.get(entry_id, [])
            if len(carried) > 1 and code in PERMANENT_ERRORS:
                alone.extend(carried)  # the bus refuses the bundle for good: alone, only the event at fault is
            else:
                result.failed.update((event.event_id, code) for event in carried)
        if alone:
            again = self._publisher.publish(alone)
            result.calls += again.calls
            result.published.extend(again.published)
            result.failed.update(again.failed)
        return result


def bus_publisher(publisher: EventPublisher) -> EventPublisher:
    """``publisher`` bundling or not, as ``BUS_BUNDLING`` says (the stream publishers' choice)."""
    return BundlingPublisher(publisher) if bundling_from_env() else publisher
