"""Delivering bus events, queue messages and schedules to functions, asynchronously as AWS does.

moto's EventBridge cannot target Lambda but it can target SQS, and it matches patterns by EventBridge's rules. So
every ``Type: EventBridgeRule`` event of a function becomes, in moto, a rule with that ``Pattern`` on that bus and
an SQS queue as its target; the runtime drains the queues and invokes the function with the EventBridge event the
queue received. No pattern matching and no routing table live here: what moto put in a queue is what was matched.

- A failed delivery makes the message visible again and is retried up to ``RetryPolicy.MaximumRetryAttempts``
  (default 2); then it goes to ``DeadLetterConfig`` if there is one (with EventBridge's ``RULE_ARN``,
  ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE`` attributes), else it is dropped. Each step is logged. (On AWS
  a handler error of this asynchronous invocation is retried by Lambda, twice by default; locally the rule's
  policy stands for both. ``MaximumEventAgeInSeconds`` is not applied.)
- ``Type: SQS`` events poll the template's queue and invoke with a batch of up to ``BatchSize`` records (several
  receives of 10, as Lambda's pollers do; ``MaximumBatchingWindowInSeconds`` is not waited for: a batch is what
  the queue holds); ``ReportBatchItemFailures`` is honoured. A failed message comes back at once rather than after
  the queue's visibility timeout (locally time is short; the retries themselves are the same), and the queue's
  redrive policy moves it to the dead-letter queue after ``maxReceiveCount`` receives, as on AWS.
- ``Type: Schedule`` events fire on their ``rate``/``cron`` expression from the background thread, through their
  own queue so that retries and dead letters work the same way; :meth:`BusDelivery.fire_schedule` fires one now.
- ``Type: DynamoDB`` events read the table's stream (see :mod:`local_runtime.dynamodb_streams`).
- A catch-all rule (``{"source": [{"prefix": ""}]}``) on every bus feeds a log queue: each event is printed as it
  passes and the last ones are kept for ``GET /_local/bus``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.deliveries import Delivery, RecordFilter, record_filter, sqs_filter_view
from local_runtime.dynamodb_streams import StreamSource
from local_runtime.functions import FunctionSpec, HandlerError
from local_runtime.resources import Resource, StackContext
from local_runtime.schedules import Schedule, parse_schedule

log = logging.getLogger("local_runtime")

ClientFactory = Callable[[str], Any]
Invoke = Callable[[str, Any], Any]
BUS_LOG_RULE = "local-runtime-bus-log"
CATCH_ALL_PATTERN = {"source": [{"prefix": ""}]}
DEFAULT_RETRIES = 2
RULE_QUEUE_VISIBILITY_SECONDS = 30


@dataclass
class Subscription:
    """One function event fed from one SQS queue (``function`` is None for the bus log)."""

    kind: str  # EventBridgeRule | Schedule | SQS | BusLog
    function: str | None
    event: str
    queue_url: str
    queue_arn: str
    rule_arn: str | None = None
    max_retries: int = DEFAULT_RETRIES
    dead_letter_url: str | None = None
    batch_size: int = 10
    report_batch_failures: bool = False
    constant_input: str | None = None
    input_path: str | None = None
    schedule: Schedule | None = None
    next_fire: datetime | None = None
    enabled: bool = True
    keep: RecordFilter | None = None  # FilterCriteria of an SQS event source
    transformed: bool = False  # an InputTransformer shapes what the target gets

    @property
    def trigger(self) -> str:
        return f"{self.function}.{self.event}" if self.function else self.event


@dataclass
class _Poll:
    deliveries: list[Delivery] = field(default_factory=list)
    received: int = 0


class BusDelivery:
    """Owns the rules and queues that feed functions, and the loop that drains them."""

    def __init__(
        self,
        clients: ClientFactory,
        invoke: Invoke,
        context: StackContext,
        *,
        bus_log_size: int = 200,
        poll_interval: float = 0.25,
    ) -> None:
        self._clients = clients
        self._invoke = invoke
        self._context = context
        self._poll_interval = poll_interval
        self.subscriptions: list[Subscription] = []
        self.streams: list[StreamSource] = []
        self._bus_log: deque[dict[str, Any]] = deque(maxlen=bus_log_size)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ setup
    def subscribe(self, specs: Mapping[str, FunctionSpec], resources: Mapping[str, Resource]) -> None:
        """Create the rules, queues and schedules for every function event, and the bus log."""
        buses = {str(res.ref) for res in resources.values() if res.type == "AWS::Events::EventBus"}
        for function_id, spec in specs.items():
            for event_name, event in spec.events.items():
                kind = event.get("Type")
                props = event.get("Properties") or {}
                try:
                    if kind == "EventBridgeRule":
                        buses.add(str(props.get("EventBusName") or "default"))
                        self.subscriptions.append(self._rule(function_id, event_name, props))
                    elif kind == "Schedule":
                        self.subscriptions.append(self._schedule(function_id, event_name, props))
                    elif kind == "SQS":
                        self.subscriptions.append(self._sqs(function_id, event_name, props))
                    elif kind == "DynamoDB":
                        self.streams.append(
                            StreamSource(self._clients, self._context, function_id, event_name, props, spec.arn)
                        )
                    elif kind != "HttpApi":
                        log.warning("%s.%s: events of Type %s are not emulated locally", function_id, event_name, kind)
                except (KeyError, ValueError, ClientError) as exc:
                    log.warning("%s.%s skipped: %s", function_id, event_name, exc)
        self._bus_log_subscription(sorted(buses))

    def _queue(self, name: str) -> tuple[str, str]:
        sqs = self._clients("sqs")
        url = sqs.create_queue(
            QueueName=name[:80], Attributes={"VisibilityTimeout": str(RULE_QUEUE_VISIBILITY_SECONDS)}
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def _queue_url(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        return str(self._clients("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def _dead_letter(self, function_id: str, event_name: str, props: Mapping[str, Any]) -> str | None:
        config = props.get("DeadLetterConfig") or {}
        if config.get("Arn"):
            return self._queue_url(str(config["Arn"]))
        if config.get("Type") == "SQS":
            url, _ = self._queue(str(config.get("QueueLogicalId") or f"{function_id}{event_name}Queue"))
            return url
        return None

    @staticmethod
    def _retries(props: Mapping[str, Any]) -> int:
        policy = props.get("RetryPolicy") or {}
        return int(policy.get("MaximumRetryAttempts", DEFAULT_RETRIES))

    @staticmethod
    def _enabled(props: Mapping[str, Any]) -> bool:
        return props.get("Enabled", True) not in (False, "false") and props.get("State", "ENABLED") == "ENABLED"

    def _rule(self, function_id: str, event_name: str, props: Mapping[str, Any]) -> Subscription:
        bus = str(props.get("EventBusName") or "default")
        rule_name = props.get("RuleName") or self._context.physical_name(f"{function_id}{event_name}", 64)
        enabled = self._enabled(props)
        url, arn = self._queue(f"local-{function_id}-{event_name}")
        events = self._clients("events")
        rule_arn = events.put_rule(
            Name=rule_name,
            EventBusName=bus,
            EventPattern=json.dumps(props["Pattern"]),
            State="ENABLED" if enabled else "DISABLED",
        )["RuleArn"]
        if enabled:  # moto delivers to the targets of disabled rules too: a disabled rule gets none
            target: dict[str, Any] = {
                "Id": (props.get("Target") or {}).get("Id") or f"{function_id}{event_name}LambdaTarget"[:64],
                "Arn": arn,
            }
            if props.get("InputTransformer"):
                target["InputTransformer"] = props["InputTransformer"]
            events.put_targets(Rule=rule_name, EventBusName=bus, Targets=[target])
        return Subscription(
            kind="EventBridgeRule",
            function=function_id,
            event=event_name,
            queue_url=url,
            queue_arn=arn,
            rule_arn=rule_arn,
            max_retries=self._retries(props),
            dead_letter_url=self._dead_letter(function_id, event_name, props),
            constant_input=props.get("Input"),
            input_path=props.get("InputPath"),
            enabled=enabled,
            transformed=bool(props.get("InputTransformer")),
        )

    def _schedule(self, function_id: str, event_name: str, props: Mapping[str, Any]) -> Subscription:
        expression = str(props["Schedule"])
        rule_name = props.get("Name") or self._context.physical_name(f"{function_id}{event_name}", 64)
        enabled = self._enabled(props)
        url, arn = self._queue(f"local-{function_id}-{event_name}")
        rule_arn = self._clients("events").put_rule(
            Name=rule_name, ScheduleExpression=expression, State="ENABLED" if enabled else "DISABLED"
        )["RuleArn"]
        schedule: Schedule | None = None
        try:
            schedule = parse_schedule(expression)
        except ValueError as exc:
            log.warning(
                "%s.%s will not fire on its own (%s); fire_schedule() still works", function_id, event_name, exc
            )
        subscription = Subscription(
            kind="Schedule",
            function=function_id,
            event=event_name,
            queue_url=url,
            queue_arn=arn,
            rule_arn=rule_arn,
            max_retries=self._retries(props),
            dead_letter_url=self._dead_letter(function_id, event_name, props),
            constant_input=props.get("Input"),
            schedule=schedule,
            enabled=enabled,
        )
        if schedule is not None and enabled:
            subscription.next_fire = schedule.next_after(datetime.now(UTC))
        return subscription

    def _sqs(self, function_id: str, event_name: str, props: Mapping[str, Any]) -> Subscription:
        arn = str(props["Queue"])
        return Subscription(
            kind="SQS",
            function=function_id,
            event=event_name,
            queue_url=self._queue_url(arn),
            queue_arn=arn,
            batch_size=int(props.get("BatchSize", 10)),
            report_batch_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            enabled=props.get("Enabled", True) not in (False, "false"),
            keep=record_filter(props.get("FilterCriteria")) if props.get("FilterCriteria") else None,
        )

    def _bus_log_subscription(self, buses: Iterable[str]) -> None:
        url, arn = self._queue(BUS_LOG_RULE)
        events = self._clients("events")
        for bus in buses:
            events.put_rule(Name=BUS_LOG_RULE, EventBusName=bus, EventPattern=json.dumps(CATCH_ALL_PATTERN))
            events.put_targets(Rule=BUS_LOG_RULE, EventBusName=bus, Targets=[{"Id": "bus-log", "Arn": arn}])
        # First in the list: each pass prints an event before the deliveries it causes.
        self.subscriptions.insert(
            0, Subscription(kind="BusLog", function=None, event="bus-log", queue_url=url, queue_arn=arn)
        )

    # ------------------------------------------------------------------ delivery
    def drain(self, timeout: float = 10.0) -> list[Delivery]:
        """Deliver everything pending now, retries included, and return what went to whom.

        Stops when a pass over all queues finds nothing (messages waiting for their visibility timeout are not
        waited for) or at ``timeout``.
        """
        deadline = time.monotonic() + timeout
        deliveries: list[Delivery] = []
        with self._lock:
            while True:
                received = 0
                for subscription in self.subscriptions:
                    poll = self._poll(subscription)
                    deliveries += poll.deliveries
                    received += poll.received
                for stream in self.streams:
                    handled, delivered = stream.poll(self._invoke)
                    deliveries += delivered
                    received += handled
                if not received:
                    return deliveries
                if time.monotonic() > deadline:
                    log.warning("drain stopped at its %.0f s timeout with deliveries still pending", timeout)
                    return deliveries

    def backlog(self) -> dict[str, int]:
        """Messages waiting in each function event's queue (to deliver, or being delivered or retried), by trigger.

        Takes no delivery lock, so it answers while deliveries run (``GET /_local/backlog``: the demo shows it as
        progress). A DynamoDB stream's unread records are not counted: they become bus events within a poll."""
        sqs = self._clients("sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        waiting: dict[str, int] = {}
        for subscription in self.subscriptions:
            if subscription.function is None or subscription.kind == "Schedule" or not subscription.enabled:
                continue
            attributes = sqs.get_queue_attributes(QueueUrl=subscription.queue_url, AttributeNames=names)["Attributes"]
            count = sum(int(attributes.get(name, 0)) for name in names)
            if count:
                waiting[subscription.trigger] = count
        return waiting

    def schedules_of(self, function_id: str, event_name: str | None = None) -> list[Subscription]:
        """The function's Schedule events (the one named ``event_name``, or all)."""
        return [
            sub
            for sub in self.subscriptions
            if sub.kind == "Schedule" and sub.function == function_id and event_name in (None, sub.event)
        ]

    def fire_schedule(self, function_id: str, event_name: str | None = None) -> list[Delivery]:
        """Fire the function's schedule now and deliver it (retries included); returns the deliveries."""
        matches = self.schedules_of(function_id, event_name)
        if not matches:
            raise KeyError(f"{function_id} has no Schedule event" + (f" named {event_name}" if event_name else ""))
        deliveries: list[Delivery] = []
        with self._lock:
            for subscription in matches:
                self._enqueue_scheduled_event(subscription)
                while True:
                    poll = self._poll(subscription)
                    deliveries += poll.deliveries
                    if not poll.received:
                        break
        return deliveries

    def bus_log(self) -> list[dict[str, Any]]:
        """The last bus events, oldest first, as the rules saw them; a bundle's events (``omnichannel.event_bus``)
        one by one, each as it would have passed alone."""
        with self._lock:
            self._poll(self.subscriptions[0])
            return list(self._bus_log)

    def start(self) -> None:
        """Deliver in the background, as AWS does, and fire schedules on time."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-runtime-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._lock:
                    self._fire_due_schedules(datetime.now(UTC))
                    received = sum(self._poll(subscription).received for subscription in self.subscriptions)
                    received += sum(stream.poll(self._invoke, respect_backoff=True)[0] for stream in self.streams)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("delivery loop error (continuing)")
                received = 0
            if not received:
                self._stop.wait(self._poll_interval)

    def _fire_due_schedules(self, now: datetime) -> None:
        for subscription in self.subscriptions:
            if subscription.schedule is None or subscription.next_fire is None or not subscription.enabled:
                continue
            if now >= subscription.next_fire:
                log.info(
                    "schedule %s (%s) fires",
                    subscription.trigger,
                    subscription.schedule.expression,
                    extra={"activity": "schedule"},
                )
                self._enqueue_scheduled_event(subscription)
                subscription.next_fire = subscription.schedule.next_after(now)

    def _enqueue_scheduled_event(self, subscription: Subscription) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._context.account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._context.region,
            "resources": [subscription.rule_arn],
            "detail": {},
        }
        self._clients("sqs").send_message(QueueUrl=subscription.queue_url, MessageBody=json.dumps(event))

    def _receive(self, subscription: Subscription) -> list[dict[str, Any]]:
        """Up to the subscription's batch size: receives of at most 10 until the queue has no more (or the batch is
        full), as a Lambda poller gathers a batch."""
        request: dict[str, Any] = {
            "QueueUrl": subscription.queue_url,
            "WaitTimeSeconds": 0,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        messages: list[dict[str, Any]] = []
        while len(messages) < subscription.batch_size:
            wanted = min(subscription.batch_size - len(messages), 10)
            received = self._clients("sqs").receive_message(MaxNumberOfMessages=wanted, **request).get("Messages", [])
            messages += received
            if len(received) < wanted or subscription.kind != "SQS":
                break
        return messages

    def _poll(self, subscription: Subscription) -> _Poll:
        if not subscription.enabled:
            return _Poll()
        messages = self._receive(subscription)
        result = _Poll(received=len(messages))
        if not messages:
            return result
        if subscription.kind == "BusLog":
            self._log_bus_events(subscription, messages)
        elif subscription.kind == "SQS":
            messages = self._filtered(subscription, messages)
            if messages:
                result.deliveries.append(self._deliver_batch(subscription, messages))
        else:
            result.deliveries += [self._deliver_event(subscription, message) for message in messages]
        return result

    def _log_bus_events(self, subscription: Subscription, messages: list[dict[str, Any]]) -> None:
        sqs = self._clients("sqs")
        for message in messages:
            for event in unbundled(_event_of(message, self._context.account_id)):
                self._bus_log.append(event)
                detail = event.get("detail")
                log.info(
                    "bus: %s from %s (event_id %s)",
                    event.get("detail-type"),
                    event.get("source"),
                    detail.get("event_id", "-") if isinstance(detail, dict) else "-",
                    extra={"activity": "bus"},
                )
            sqs.delete_message(QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver_event(self, subscription: Subscription, message: dict[str, Any]) -> Delivery:
        assert subscription.function is not None
        sqs = self._clients("sqs")
        event = _event_of(message, self._context.account_id, transformed=subscription.transformed)
        payload = _input_for(event, subscription)
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        attempts = subscription.max_retries + 1

        def record(outcome: str, error: str | None = None) -> Delivery:
            return Delivery(
                subscription.function or "", subscription.trigger, subscription.kind, payload, attempt, outcome, error
            )

        try:
            self._invoke(subscription.function, payload)
        except HandlerError as exc:
            error = f"{type(exc.error).__name__}: {exc.error}"
            if attempt < attempts:
                log.error(
                    "✗ %s failed (attempt %d of %d), will retry:\n%s",
                    subscription.trigger,
                    attempt,
                    attempts,
                    exc.traceback,
                )
                sqs.change_message_visibility(
                    QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                return record("retrying", error)
            outcome = "dropped"
            if subscription.dead_letter_url:
                self._send_to_dead_letter(subscription, event, exc)
                outcome = "dead-lettered"
            log.error(
                "✗ %s failed (attempt %d of %d): %s; %s",
                subscription.trigger,
                attempt,
                attempts,
                error,
                "sent to the dead-letter queue" if outcome == "dead-lettered" else "dropped (no DeadLetterConfig)",
            )
            sqs.delete_message(QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return record(outcome, error)
        kind = event.get("detail-type", "event")
        activity = "schedule" if kind == "Scheduled Event" else subscription.trigger
        log.info("→ %s delivered (%s)", subscription.trigger, kind, extra={"activity": activity})
        sqs.delete_message(QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return record("delivered")

    def _send_to_dead_letter(self, subscription: Subscription, event: Any, error: HandlerError) -> None:
        attributes = {
            "RULE_ARN": subscription.rule_arn or "",
            "TARGET_ARN": subscription.queue_arn,
            "ERROR_CODE": "Lambda.FunctionError",
            "ERROR_MESSAGE": f"{type(error.error).__name__}: {error.error}"[:256],
        }
        self._clients("sqs").send_message(
            QueueUrl=subscription.dead_letter_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value or "-"} for name, value in attributes.items()
            },
        )

    def _filtered(self, subscription: Subscription, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Lambda deletes the messages that no FilterCriteria pattern matches, without invoking."""
        if subscription.keep is None:
            return messages
        kept = []
        for message in messages:
            if subscription.keep(sqs_filter_view(self._record(subscription, message))):
                kept.append(message)
            else:
                self._clients("sqs").delete_message(
                    QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return kept

    def _deliver_batch(self, subscription: Subscription, messages: list[dict[str, Any]]) -> Delivery:
        assert subscription.function is not None
        sqs = self._clients("sqs")
        event = {"Records": [self._record(subscription, message) for message in messages]}
        attempt = max(int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) for m in messages)
        try:
            answer = self._invoke(subscription.function, event)
        except HandlerError as exc:
            log.error("✗ %s batch of %d failed:\n%s", subscription.trigger, len(messages), exc.traceback)
            self._visible_again(subscription, messages)
            return Delivery(subscription.function, subscription.trigger, "SQS", event, attempt, "failed", str(exc))
        failed = _batch_failures(answer, messages) if subscription.report_batch_failures else set()
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):  # as Lambda's poller deletes: DeleteMessageBatch, 10 at a time
            sqs.delete_message_batch(
                QueueUrl=subscription.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done[start : start + 10])
                ],
            )
        self._visible_again(subscription, [message for message in messages if message["MessageId"] in failed])
        if failed:
            log.error("✗ %s: %d of %d messages failed", subscription.trigger, len(failed), len(messages))
            return Delivery(subscription.function, subscription.trigger, "SQS", event, attempt, "partial")
        log.info(
            "→ %s delivered a batch of %d",
            subscription.trigger,
            len(messages),
            extra={"activity": subscription.trigger},
        )
        return Delivery(subscription.function, subscription.trigger, "SQS", event, attempt, "delivered")

    def _visible_again(self, subscription: Subscription, messages: list[dict[str, Any]]) -> None:
        """Failed messages come back now instead of after the visibility timeout (see the module docstring)."""
        sqs = self._clients("sqs")
        for message in messages:
            try:
                sqs.change_message_visibility(
                    QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            except ClientError as exc:  # moved to the dead-letter queue meanwhile, or deleted
                log.debug("%s: message %s not made visible again: %s", subscription.trigger, message["MessageId"], exc)

    def _record(self, subscription: Subscription, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                name: attributes[name]
                for name in (
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "SenderId",
                    "ApproximateFirstReceiveTimestamp",
                    "MessageGroupId",
                    "MessageDeduplicationId",
                    "SequenceNumber",
                )
                if name in attributes
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType"),
                }
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": subscription.queue_arn,
            "awsRegion": self._context.region,
        }


EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def _event_of(message: Mapping[str, Any], account_id: str, *, transformed: bool = False) -> Any:
    """The EventBridge event an SQS target received, as a Lambda target would get it.

    moto drops ``account`` from the events it sends to targets and adds its own ``ingestion-time``; both are
    put right here (unless an InputTransformer shaped the payload).
    """
    event = json.loads(message["Body"])
    if transformed or not isinstance(event, dict) or "detail-type" not in event:
        return event
    event.pop("ingestion-time", None)
    event.setdefault("account", account_id)
    return {name: event[name] for name in EVENT_FIELDS if name in event} | {
        name: value for name, value in event.items() if name not in EVENT_FIELDS
    }


def _input_for(event: Any, subscription: Subscription) -> Any:
    """What the target receives: the constant ``Input``, the ``InputPath`` part, or the whole event."""
    if subscription.constant_input is not None:
        return json.loads(subscription.constant_input)
    if subscription.input_path and subscription.input_path != "$":
        value = event
        for part in subscription.input_path.removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return event


def _batch_failures(answer: Any, messages: list[dict[str, Any]]) -> set[str]:
    """Message ids the function reported as failed; a malformed report fails the whole batch, as on AWS."""
    every = {message["MessageId"] for message in messages}
    if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in answer["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if identifier not in every:
            return every
        failed.add(str(identifier))
    return failed


def unbundled(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A bus event, or a bundle's events (detail-type ``bundle``: ``{"kinds", "events": [{"id", "detail-type",
    "time", "detail"}]}``) each as the event it would have been alone."""
    detail = event.get("detail")
    inner = detail.get("events") if isinstance(detail, dict) else None
    if event.get("detail-type") != "bundle" or not isinstance(inner, list):
        return [event]
    return [
        {
            **event,
            "id": item.get("id"),
            "detail-type": item.get("detail-type"),
            "time": item.get("time"),
            "detail": item.get("detail"),
        }
        for item in inner
        if isinstance(item, dict)
    ]
