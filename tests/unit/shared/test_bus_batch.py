"""The shared shell of the bus consumers (omnichannel.bus_batch): every record of an SQS batch ends done, skipped,
quarantined once (with its reason) or failed (only when waiting may help), and never takes its batch-mates along."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError
from pydantic import BaseModel

from omnichannel.bus_batch import BatchOutcome, BusBatchConsumer, DeadLetterQuarantine, Poison
from omnichannel.retry import RetriesExhausted
from tests.fakes import FakeLambdaContext
from tests.support.sqs_batches import bus_event, failed_ids, sqs_batch


class Order(BaseModel):
    order_id: str
    total: int


class NotForUs(Exception):
    pass


class FakeQuarantine:
    def __init__(self, *, broken: bool = False) -> None:
        self.kept: list[tuple[str, str, str]] = []  # (message id, reason, consumer)
        self.broken = broken

    def keep(self, record: SQSRecord, reason: str, consumer: str) -> None:
        if self.broken:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")
        self.kept.append((record.message_id, reason, consumer))


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem")


class Shop:
    """A consumer of ``shop`` orders whose handler does what the order's id says."""

    def __init__(self, quarantine: FakeQuarantine) -> None:
        self.done: list[str] = []
        self.consumer = BusBatchConsumer(
            Logger(service="test"), Metrics(namespace="Test", service="test"), skip=(NotForUs,),
            quarantine=lambda: quarantine,
        )  # fmt: skip
        self.consumer.route("shop", {"Order Placed"}, Order, self.handle)

    def handle(self, order: Order) -> str:
        match order.order_id.split("-")[0]:
            case "boom":
                raise OverflowError("year 9999 is out of range")
            case "poison":
                raise Poison("the order names a store that never existed")
            case "slow":
                raise throttled()
            case "busy":
                raise RetriesExhausted("every attempt lost the race")
            case "other":
                raise NotForUs("not a shop order")
        self.done.append(order.order_id)
        return "done"


def order(order_id: str, **detail: Any) -> dict[str, Any]:
    return bus_event("shop", "Order Placed", {"order_id": order_id, "total": 10, **detail})


def run(shop: Shop, *events: Mapping[str, Any] | str) -> tuple[dict[str, Any], list[str]]:
    batch = sqs_batch(events)
    answer = shop.consumer.handle(batch, FakeLambdaContext(function_name="ShopFunction"))
    return dict(answer), [record["messageId"] for record in batch["Records"]]


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        pytest.param("{not json", "not an EventBridge event", id="unparseable-body"),
        pytest.param(json.dumps({"detail-type": "Placed"}), "not an EventBridge event: invalid", id="no-envelope"),
        pytest.param(order("o-2", total="lots"), "invalid detail.total", id="invalid-detail"),
        pytest.param(bus_event("shop", "Order Shredded", {}), "no route for shop / Order Shredded", id="no-route"),
        pytest.param(order("boom-1"), "OverflowError: year 9999 is out of range", id="deterministic-error"),
        pytest.param(order("poison-1"), "Poison: the order names a store that never existed", id="poison-raised"),
    ],
)
def test_a_poison_record_is_quarantined_once_and_its_batch_mates_are_processed(poison: Any, reason: str) -> None:
    # Given a batch whose second record can never be processed
    quarantine = FakeQuarantine()
    shop = Shop(quarantine)

    # When the batch is handled
    answer, ids = run(shop, order("o-1"), poison, order("o-3"))

    # Then nothing is reported failed (nothing comes back), the poison went to quarantine once with its reason,
    # and the records before and after it were processed
    assert answer == {"batchItemFailures": []}
    assert [(message_id, consumer) for message_id, _, consumer in quarantine.kept] == [(ids[1], "ShopFunction")]
    assert quarantine.kept[0][1].startswith(reason)
    assert shop.done == ["o-1", "o-3"]


def test_a_reason_names_fields_never_values() -> None:
    # Given an order whose e-mail field is not a number, carrying an address in the failing value
    quarantine = FakeQuarantine()
    shop = Shop(quarantine)

    # When it is quarantined
    run(shop, order("o-1", total="ayse@example.com"))

    # Then the reason names the field only
    [(_, reason, _)] = quarantine.kept
    assert reason == "invalid detail.total"


@pytest.mark.parametrize("transient", ["slow-1", "busy-1"], ids=["aws-throttling", "retries-exhausted"])
def test_a_transient_failure_fails_only_its_own_record(transient: str) -> None:
    # Given a batch whose middle record meets a throttled table (or loses every race)
    quarantine = FakeQuarantine()
    shop = Shop(quarantine)

    # When it is handled
    answer, ids = run(shop, order("o-1"), order(transient), order("o-3"))

    # Then only that record is reported failed (it comes back later), nothing is quarantined
    assert failed_ids(answer) == [ids[1]]
    assert quarantine.kept == []
    assert shop.done == ["o-1", "o-3"]


def test_an_event_that_is_not_for_the_consumer_is_skipped_not_quarantined() -> None:
    quarantine = FakeQuarantine()
    shop = Shop(quarantine)

    answer, _ = run(shop, order("other-1"), order("o-2"))

    assert answer == {"batchItemFailures": []}
    assert quarantine.kept == []
    assert shop.done == ["o-2"]


def test_when_quarantine_itself_fails_the_record_comes_back_instead_of_being_lost() -> None:
    # Given a dead-letter queue that cannot be written to
    shop = Shop(FakeQuarantine(broken=True))

    # When a poison record is handled beside a good one
    answer, ids = run(shop, order("boom-1"), order("o-2"))

    # Then the poison record is failed (it comes back; after maxReceiveCount SQS moves it itself)
    assert failed_ids(answer) == [ids[0]]
    assert shop.done == ["o-2"]


def test_an_all_transient_batch_is_answered_not_raised() -> None:
    shop = Shop(FakeQuarantine())

    answer, ids = run(shop, order("slow-1"), order("slow-2"))

    assert sorted(failed_ids(answer)) == sorted(ids)


# ------------------------------------------------------------------------------------------ batch functions


class Rollup:
    def __init__(self, *, fail: Exception | None = None) -> None:
        self.seen: list[list[str]] = []
        self.fail = fail

    def apply_batch(self, events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        self.seen.append([str(event["detail"].get("order_id")) for event in events])
        if self.fail is not None:
            raise self.fail
        return BatchOutcome(
            poison={index: "year out of range" for index, event in enumerate(events) if event["detail"].get("bad")}
        )


def batch_consumer(quarantine: FakeQuarantine) -> BusBatchConsumer:
    metrics = Metrics(namespace="Test", service="test")
    return BusBatchConsumer(Logger(service="test"), metrics, quarantine=lambda: quarantine)


def test_a_batch_function_sees_the_readable_events_in_order_and_its_poison_is_quarantined() -> None:
    # Given a batch with an unreadable record and an event the rollup reports as poison
    quarantine = FakeQuarantine()
    rollup = Rollup()
    batch = sqs_batch([order("o-1"), "garbage", order("o-3", bad=True), order("o-4")])
    ids = [record["messageId"] for record in batch["Records"]]

    # When the batch function handles it
    answer = batch_consumer(quarantine).handle_batch(batch, FakeLambdaContext(), rollup.apply_batch)

    # Then it saw the three events as EventBridge events, in order; the unreadable and the poison one are
    # quarantined (once each), and nothing comes back
    assert rollup.seen == [["o-1", "o-3", "o-4"]]
    assert answer == {"batchItemFailures": []}
    assert [(message_id, reason) for message_id, reason, _ in quarantine.kept] == [
        (ids[1], quarantine.kept[0][1]),
        (ids[2], "year out of range"),
    ]
    assert quarantine.kept[0][1].startswith("not an EventBridge event")


def test_when_a_batch_function_raises_every_readable_record_comes_back() -> None:
    quarantine = FakeQuarantine()
    rollup = Rollup(fail=throttled())
    batch = sqs_batch([order("o-1"), "garbage", order("o-3")])
    ids = [record["messageId"] for record in batch["Records"]]

    answer = batch_consumer(quarantine).handle_batch(batch, FakeLambdaContext(), rollup.apply_batch)

    assert sorted(failed_ids(answer)) == sorted([ids[0], ids[2]])
    assert [message_id for message_id, _, _ in quarantine.kept] == [ids[1]]


def test_the_dead_letter_quarantine_keeps_the_body_and_says_why() -> None:
    # Given the SQS client of a dead-letter queue
    sent: list[dict[str, Any]] = []

    class Sqs:
        def send_message(self, **request: Any) -> dict[str, Any]:
            sent.append(request)
            return {"MessageId": "m"}

    record = SQSRecord(sqs_batch([order("o-1")])["Records"][0])

    # When a record is kept there
    DeadLetterQuarantine(Sqs(), "https://sqs/dlq").keep(record, "invalid detail.total", "ShopFunction")

    # Then the body is the original one and the attributes say why, who and which message
    [request] = sent
    assert request["QueueUrl"] == "https://sqs/dlq"
    assert request["MessageBody"] == record.body
    attributes = {name: value["StringValue"] for name, value in request["MessageAttributes"].items()}
    assert attributes == {
        "quarantine_reason": "invalid detail.total",
        "quarantined_by": "ShopFunction",
        "original_message_id": record.message_id,
    }


def test_a_batch_function_may_ask_for_some_records_again_and_only_those_come_back() -> None:
    # Given a batch function that needs one event delivered again (what it waits for does not exist yet)
    quarantine = FakeQuarantine()
    batch = sqs_batch([order("o-1"), order("o-2"), order("o-3", bad=True)])
    ids = [record["messageId"] for record in batch["Records"]]

    def apply_batch(events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        return BatchOutcome(poison={2: "year out of range"}, retry={1})

    # When the shell settles the batch
    answer = batch_consumer(quarantine).handle_batch(batch, FakeLambdaContext(), apply_batch)

    # Then only that record fails (it comes back), the poison one is quarantined once, the first is done
    assert failed_ids(answer) == [ids[1]]
    assert [(message_id, reason) for message_id, reason, _ in quarantine.kept] == [(ids[2], "year out of range")]
