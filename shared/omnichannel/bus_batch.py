"""Bus consumers read their events from an SQS queue in batches: EventBridge rule → queue (with its own dead-letter
queue) → Lambda, through Powertools' batch utility with partial batch responses.

Each record of a batch ends one of four ways:

- **done**: the consumer's handler returned (whatever it did, possibly nothing: a duplicate, an event it ignores);
- **skipped**: the handler raised one of the consumer's ``skip`` exceptions (an event that cannot concern it, e.g.
  a cart event without identifiers): counted (``BusEventsSkipped``), never retried;
- **quarantined**: the record can never be processed: its body is not an EventBridge event, its detail does not
  validate, no route takes it, the handler raised :class:`Poison`, or an error that no retry can change (anything
  but a ``transient`` one). It is sent *once* to the consumer's dead-letter queue with its reason as a message
  attribute (``quarantine_reason``), counted (``BusEventsQuarantined``, an alarm watches it) and taken off the
  source queue. Someone can read it there and replay it with SQS's own redrive (``StartMessageMoveTask``) once the
  cause is fixed. It never holds up its batch-mates and is never retried many times.
- **failed**: a transient error (AWS throttling or unavailable: any ``botocore`` error; optimistic retries that ran
  out, :class:`~omnichannel.retry.RetriesExhausted`; or the consumer's own ``transient`` types). Only that record
  is reported in ``batchItemFailures``; it comes back after the queue's visibility timeout and, after the redrive
  policy's ``maxReceiveCount`` receives, SQS itself moves it to the dead-letter queue.

Consumers are idempotent on the event (dedupe items written with the change), so a record delivered again, or a
batch partly redone, counts nothing twice.

**Bundles.** The capture and profiles stream publishers put many events in one bus entry (``detail-type``
``bundle``, ``omnichannel.event_bus``), so a record may hold up to ~100 events. The shell expands it and handles each
inner event as if it had come alone, with these differences: an inner event no route takes (or, for a batch
function, that the consumer did not :meth:`~BusBatchConsumer.accept`) is *ignored*, not quarantined: the rule
delivered the bundle for a batch-mate's sake. A poison inner event is quarantined **alone** (its own single-event
body, as it would have arrived unbundled, with the reason attribute); a skipped one is counted. If any inner event
fails transiently (or its batch function asks for it again) the whole record is reported failed and nothing of it
is quarantined or counted as skipped yet: when it comes back its other events are done again, which the consumers'
per-event dedupe makes exact (nothing counted or merged twice), and its poison events are quarantined then, once.
A bundle that is not one (``kinds`` or ``events`` missing or malformed) is quarantined whole.

A consumer that works per event declares routes; one that works per batch (the KPI rollup sums a batch's deltas in
memory) gives a batch function instead::

    consumer = BusBatchConsumer(logger, metrics, transient=(TooMuchContention,), skip=(UnusableEvent,))
    consumer.route(CAPTURE_SOURCE, CART_EVENTS, CanonicalEvent, apply_commerce_event)
    consumer.route(PROFILES_SOURCE, {"profile.erased"}, ProfileErased, erase)

    def lambda_handler(event, context):
        return consumer.handle(event, context)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from omnichannel.event_bus import BUNDLE_DETAIL_TYPE
from omnichannel.observability import mask_pii
from omnichannel.retry import RetriesExhausted

QUARANTINE_QUEUE_VARIABLE = "QUARANTINE_QUEUE_URL"
REASON_ATTRIBUTE = "quarantine_reason"
MAX_REASON_LENGTH = 256
# Errors worth waiting for: AWS said "not now" (or did not answer), or optimistic retries ran out.
ALWAYS_TRANSIENT: tuple[type[BaseException], ...] = (ClientError, BotoCoreError, RetriesExhausted)


class Poison(Exception):
    """Raised by a handler for a record it can never process (the reason is logged and kept with the record)."""


class Quarantine(Protocol):
    def keep(self, record: SQSRecord, reason: str, consumer: str) -> None:
        """Put the record where someone can inspect and replay it, with its reason; raise if that failed."""
        ...


class DeadLetterQuarantine:
    """The consumer's own dead-letter queue: the original body, plus why and by whom it was quarantined."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def keep(self, record: SQSRecord, reason: str, consumer: str) -> None:
        attributes = {
            REASON_ATTRIBUTE: reason,
            "quarantined_by": consumer or "-",
            "original_message_id": record.message_id,
        }
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=record.body or "",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )


@cache
def _dead_letter_quarantine(queue_url: str) -> DeadLetterQuarantine:
    from omnichannel import aws_clients

    return DeadLetterQuarantine(aws_clients.client("sqs"), queue_url)


def quarantine_from_env() -> Quarantine:
    """The queue named by ``QUARANTINE_QUEUE_URL`` (the consumer's dead-letter queue, template.yaml)."""
    url = os.environ.get(QUARANTINE_QUEUE_VARIABLE)
    if not url:
        raise RuntimeError(f"{QUARANTINE_QUEUE_VARIABLE} is not set: a poison record would have nowhere to go")
    return _dead_letter_quarantine(url)


@dataclass(frozen=True)
class Route:
    source: str
    detail_types: frozenset[str] | None  # None: every detail-type of the source
    model: type[BaseModel] | None  # the detail's model (None: the raw detail dict)
    handle: Callable[[Any], object]


@dataclass
class BatchOutcome:
    """What a batch function reports: the indexes of the events it can never process, with a reason each
    (``poison``), and of those to deliver again (``retry``: a condition of that event alone, e.g. what it waits for
    does not exist yet). Everything else it did (or found done already); a transient failure of the whole it raises."""

    poison: dict[int, str] = field(default_factory=dict)
    retry: set[int] = field(default_factory=set)


class DeliverAgain(Exception):
    """A record its batch function asked to have delivered again (``BatchOutcome.retry``)."""


BatchFunction = Callable[[Sequence[Mapping[str, Any]]], BatchOutcome]


def validation_reason(error: ValidationError, prefix: str = "") -> str:
    """The fields that failed (never their values)."""
    fields = sorted({prefix + ".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
    return "invalid " + (", ".join(fields) or "value")


def error_reason(error: BaseException) -> str:
    """An exception as a reason: its type and message, personal data masked, bounded."""
    text = mask_pii(str(error)).replace("\n", " ")
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return reason[:MAX_REASON_LENGTH]


class BusBatchConsumer:
    """The shared shell of every bus consumer (see the module docstring)."""

    def __init__(
        self,
        logger: Logger,
        metrics: Metrics,
        *,
        transient: tuple[type[BaseException], ...] = (),
        skip: tuple[type[BaseException], ...] = (),
        quarantine: Callable[[], Quarantine] = quarantine_from_env,
    ) -> None:
        self._logger = logger
        self._metrics = metrics
        self._transient = ALWAYS_TRANSIENT + transient
        self._skip = skip
        self._quarantine = quarantine
        self._routes: list[Route] = []
        self._accepts: list[tuple[str, frozenset[str] | None]] = []
        self._consumer = ""

    # ------------------------------------------------------------------ routes
    def route(
        self,
        source: str,
        detail_types: Collection[str] | None,
        model: type[BaseModel] | None,
        handle: Callable[[Any], object],
    ) -> None:
        """Events of ``source`` (and one of ``detail_types``; None: any) go to ``handle``, their detail parsed into
        ``model`` first (a detail that does not validate is quarantined)."""
        kinds = None if detail_types is None else frozenset(str(kind) for kind in detail_types)
        self._routes.append(Route(source, kinds, model, handle))

    def accept(self, source: str, detail_types: Collection[str] | None) -> None:
        """For a batch function: the events of a bundle it is given (``source`` and one of ``detail_types``; None:
        any), as its rule would have delivered them alone. Without any ``accept`` it is given every inner event."""
        self._accepts.append((source, None if detail_types is None else frozenset(map(str, detail_types))))

    def _accepted(self, event: Mapping[str, Any]) -> bool:
        return not self._accepts or any(
            source == event.get("source") and (kinds is None or event.get("detail-type") in kinds)
            for source, kinds in self._accepts
        )

    def _route_of(self, event: EventBridgeModel) -> Route | None:
        for route in self._routes:
            if route.source == event.source and (route.detail_types is None or event.detail_type in route.detail_types):
                return route
        return None

    # ------------------------------------------------------------------ per event
    def handle(self, event: Mapping[str, Any], context: Any) -> PartialItemFailureResponse:
        """An SQS batch of bus events, each through its route."""
        self._consumer = getattr(context, "function_name", "") or ""
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(
            event=dict(event), record_handler=self._one, processor=processor, context=context
        )

    def _one(self, record: SQSRecord) -> str:
        envelope = self._envelope(record)
        if envelope is None:
            return "quarantined"
        if envelope.detail_type == BUNDLE_DETAIL_TYPE:
            return self._bundle(record, envelope)
        outcome = self._event(record, envelope, bundled=False)
        if isinstance(outcome, Skipped):
            self._skipped(outcome.reason)
            return "skipped"
        if isinstance(outcome, Quarantined):
            return self._quarantined(record, outcome.reason, outcome.error)
        return outcome

    def _bundle(self, record: SQSRecord, envelope: EventBridgeModel) -> str:
        """Each event of a bundle through its route; settled only once none failed transiently (module docstring)."""
        inner = expand_bundle(envelope)
        if isinstance(inner, str):
            return self._quarantined(record, inner)
        failure: BaseException | None = None
        poison: list[tuple[SQSRecord, Quarantined]] = []
        skipped: list[str] = []
        for body, parsed in inner:
            alone = single_record(record, body)
            if isinstance(parsed, str):
                poison.append((alone, Quarantined(parsed)))
                continue
            try:
                outcome = self._event(alone, parsed, bundled=True)
            except Exception as error:  # transient: the others go on, the record comes back
                failure = failure or error
                continue
            if isinstance(outcome, Quarantined):
                poison.append((alone, outcome))
            elif isinstance(outcome, Skipped):
                skipped.append(outcome.reason)
        if failure is not None:
            self._logger.warning(
                "an event of the bundle failed; the bundle comes back",
                extra={"message_id": record.message_id, "events": len(inner), "error": error_reason(failure)},
            )
            raise failure
        for alone, verdict in poison:
            self._quarantined(alone, verdict.reason, verdict.error)
        for reason in skipped:
            self._skipped(reason)
        return "done"

    def _event(self, record: SQSRecord, envelope: EventBridgeModel, *, bundled: bool) -> str | Skipped | Quarantined:
        """One event through its route: ``done`` (or ``ignored``: a bundle's event no route takes), skipped or to
        quarantine; a transient error is raised."""
        self._logger.append_keys(
            source=envelope.source, detail_type=envelope.detail_type, event_id=_event_id(envelope.detail)
        )
        try:
            route = self._route_of(envelope)
            if route is None:
                if bundled:
                    return "ignored"  # the rule delivered its bundle for a batch-mate
                return Quarantined(f"no route for {envelope.source} / {envelope.detail_type}"[:256])
            try:
                detail = route.model.model_validate(envelope.detail) if route.model else envelope.detail
            except ValidationError as error:
                return Quarantined(validation_reason(error, "detail."))
            try:
                route.handle(detail)
            except self._skip as error:
                return Skipped(error_reason(error))
            except self._transient:
                raise  # reported as failed: the record comes back
            except Exception as error:  # deterministic: the same input fails the same way every time
                return Quarantined(error_reason(error), error)
            return "done"
        finally:
            self._logger.remove_keys(["source", "detail_type", "event_id"])

    def _skipped(self, reason: str) -> None:
        self._metrics.add_metric(name="BusEventsSkipped", unit=MetricUnit.Count, value=1)
        self._logger.info("event skipped", extra={"reason": reason})

    # ------------------------------------------------------------------ per batch
    def handle_batch(self, event: Mapping[str, Any], context: Any, apply: BatchFunction) -> PartialItemFailureResponse:
        """An SQS batch given to ``apply`` as one sequence of EventBridge events (as a rule target receives them), in
        order, bundles expanded into their (accepted) events. Records that are not events are quarantined; so are the
        events ``apply`` reports as poison (a bundle's alone); those it reports for retry fail with their record and
        come back. If ``apply`` raises, every other record fails and comes back (the consumer's dedupe makes the
        redelivery exact): it cannot say which event was at fault."""
        self._consumer = getattr(context, "function_name", "") or ""
        reasons: dict[str, str] = {}  # message id -> why the record is quarantined
        inner_poison: dict[str, list[tuple[SQSRecord, str]]] = {}  # message id -> a bundle's events to quarantine
        again: set[str] = set()  # message ids to deliver again
        flat: list[tuple[SQSRecord, dict[str, Any], bool]] = []  # (record, event, from a bundle)
        for raw in event.get("Records", []):
            record = SQSRecord(raw)
            parsed = _parse(record)
            if isinstance(parsed, str):
                reasons[record.message_id] = parsed
                continue
            if parsed.detail_type != BUNDLE_DETAIL_TYPE:
                flat.append((record, json.loads(record.body or "{}"), False))
                continue
            inner = expand_bundle(parsed)
            if isinstance(inner, str):
                reasons[record.message_id] = inner
                continue
            for body, checked in inner:
                if isinstance(checked, str):
                    inner_poison.setdefault(record.message_id, []).append((single_record(record, body), checked))
                elif self._accepted(body):
                    flat.append((record, body, True))
        failure: BaseException | None = None
        try:
            result = apply([bus_event for _, bus_event, _ in flat]) if flat else BatchOutcome()
        except Exception as error:
            failure = error
            self._logger.exception(
                "batch failed; its records come back", extra={"records": len(flat), "error": error_reason(error)}
            )
        else:
            for index, reason in result.poison.items():
                if 0 <= index < len(flat):
                    record, body, bundled = flat[index]
                    if bundled:
                        alone = single_record(record, body)
                        inner_poison.setdefault(record.message_id, []).append((alone, reason[:MAX_REASON_LENGTH]))
                    else:
                        reasons[record.message_id] = reason[:MAX_REASON_LENGTH]
            again = {flat[index][0].message_id for index in result.retry if 0 <= index < len(flat)}

        def replay(record: SQSRecord) -> str:
            if record.message_id in reasons:
                return self._quarantined(record, reasons[record.message_id])
            if failure is not None:
                raise failure
            if record.message_id in again:
                raise DeliverAgain(record.message_id)  # a bundle's poison waits for its last pass
            for alone, reason in inner_poison.get(record.message_id, []):
                self._quarantined(alone, reason)
            return "done"

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event=dict(event), record_handler=replay, processor=processor, context=context)

    # ------------------------------------------------------------------ both
    def _envelope(self, record: SQSRecord) -> EventBridgeModel | None:
        parsed = _parse(record)
        if isinstance(parsed, str):
            self._quarantined(record, parsed)
            return None
        return parsed

    def _quarantined(self, record: SQSRecord, reason: str, error: BaseException | None = None) -> str:
        """Send the record to quarantine once; if even that fails, the record fails (it comes back)."""
        self._quarantine().keep(record, reason, self._consumer)
        self._metrics.add_metric(name="BusEventsQuarantined", unit=MetricUnit.Count, value=1)
        self._logger.error(
            "record quarantined in the dead-letter queue",
            extra={"message_id": record.message_id, "reason": reason, "error": type(error).__name__ if error else None},
        )
        return "quarantined"


def _parse(record: SQSRecord) -> EventBridgeModel | str:
    """The record's EventBridge event, or why it is not one."""
    try:
        return EventBridgeModel.model_validate_json(record.body or "")
    except ValidationError as error:
        return "not an EventBridge event: " + validation_reason(error)


def _event_id(detail: Any) -> str | None:
    return str(detail.get("event_id")) if isinstance(detail, dict) and detail.get("event_id") else None


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Quarantined:
    reason: str
    error: BaseException | None = None


def expand_bundle(envelope: EventBridgeModel) -> list[tuple[dict[str, Any], EventBridgeModel | str]] | str:
    """A bundle's events, each as the EventBridge event it would have been alone (and parsed, or why it cannot be);
    or why the bundle is not one."""
    detail = envelope.detail
    events = detail.get("events") if isinstance(detail, dict) else None
    if not isinstance(detail, dict) or not isinstance(detail.get("kinds"), list) or not isinstance(events, list):
        return "not a bundle: detail.kinds and detail.events must be lists"
    out: list[tuple[dict[str, Any], EventBridgeModel | str]] = []
    for position, inner in enumerate(events):
        inner = inner if isinstance(inner, dict) else {}
        body: dict[str, Any] = {
            "version": envelope.version,
            "id": inner.get("id"),
            "detail-type": inner.get("detail-type"),
            "source": envelope.source,
            "account": envelope.account,
            "time": inner.get("time") or envelope.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": envelope.region,
            "resources": [],
            "detail": inner.get("detail"),
        }
        try:
            out.append((body, EventBridgeModel.model_validate(body)))
        except ValidationError as error:
            out.append((body, f"bundle event {position}: not an EventBridge event: " + validation_reason(error)))
    return out


def single_record(record: SQSRecord, body: Mapping[str, Any]) -> SQSRecord:
    """A bundle's event as a record of its own (the bundle's message id, the event's single-event body): what the
    quarantine keeps."""
    raw = dict(record.raw_event)
    raw["body"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
    raw.pop("md5OfBody", None)
    return SQSRecord(raw)
