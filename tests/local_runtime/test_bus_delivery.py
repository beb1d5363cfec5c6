"""Bus, queue, stream and schedule deliveries: moto matches the rules, the runtime drains and invokes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from local_runtime import LocalRuntime
from tests.local_runtime.support import CONFIG, TEMPLATE, recorded


def _publish(runtime: LocalRuntime, *entries: tuple[str, str, dict[str, object]]) -> None:
    """Have the echo function put events on the bus, as a producer function would."""
    body = [{"Source": source, "DetailType": detail_type, "Detail": detail} for source, detail_type, detail in entries]
    status, _, answer = runtime.request("POST", "/publish", body=body)
    assert status == 202, answer
    assert json.loads(answer) == {"failed": 0}


def test_an_event_reaches_only_the_functions_whose_pattern_matches(runtime: LocalRuntime) -> None:
    # Given rules for Order Completed from fixture.shop (RecorderFunction) and for "Cart *" (CartRecorderFunction)
    # When a function publishes one event of each, and one that no rule wants
    _publish(
        runtime,
        ("fixture.shop", "Order Completed", {"event_id": "o-1", "total": 10}),
        ("fixture.web", "Cart Viewed", {"event_id": "c-1"}),
        ("fixture.web", "Page Viewed", {"event_id": "p-1"}),
    )
    deliveries = runtime.drain()
    # Then each matching function got its event once, as an EventBridge event, and nobody got the third
    assert sorted((d.trigger, d.event["detail"]["event_id"], d.outcome) for d in deliveries) == [
        ("CartRecorderFunction.CartEvents", "c-1", "delivered"),
        ("RecorderFunction.OrderCompleted", "o-1", "delivered"),
    ]
    [order] = recorded(runtime, "orders")
    assert order["detail-type"] == "Order Completed"
    assert order["source"] == "fixture.shop"
    assert order["detail"] == {"event_id": "o-1", "total": 10}
    assert order["account"] == "123456789012"
    assert order["region"] == "eu-west-1"
    assert set(order) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert [event["detail"]["event_id"] for event in recorded(runtime, "carts")] == ["c-1"]
    # And the bus log saw all three in order
    assert [event["detail"]["event_id"] for event in runtime.bus_log()] == ["o-1", "c-1", "p-1"]


def test_an_event_no_pattern_matches_is_delivered_to_nobody(runtime: LocalRuntime) -> None:
    # Given an Order Completed event from a source the rule does not name
    # When it is put on the bus and everything is drained
    runtime.put_event("Order Completed", {"event_id": "o-2"}, source="fixture.elsewhere")
    deliveries = runtime.drain()
    # Then no function was invoked
    assert deliveries == []
    assert recorded(runtime, "orders") == []


def test_deliveries_are_asynchronous_until_drained(runtime: LocalRuntime) -> None:
    # Given an event on the bus
    runtime.put_event("Order Completed", {"event_id": "o-3"}, source="fixture.shop")
    # When nothing drains yet
    # Then it waits in its rule's queue; drain delivers it, and a second drain finds nothing left
    assert recorded(runtime, "orders") == []
    assert [d.trigger for d in runtime.drain()] == ["RecorderFunction.OrderCompleted"]
    assert runtime.drain() == []


def test_a_failing_consumer_is_retried_then_the_event_goes_to_the_dead_letter_queue(runtime: LocalRuntime) -> None:
    # Given FailingFunction always raises; its rule allows 1 retry and has FailuresQueue as dead-letter queue
    # When an Explode event is put on the bus and drained
    runtime.put_event("Explode", {"event_id": "x-1"})
    deliveries = runtime.drain()
    # Then it was attempted twice and then dead-lettered, with EventBridge's error attributes
    assert [(d.trigger, d.attempt, d.outcome) for d in deliveries] == [
        ("FailingFunction.Explosions", 1, "retrying"),
        ("FailingFunction.Explosions", 2, "dead-lettered"),
    ]
    assert deliveries[-1].error == "RuntimeError: boom: Explode"
    sqs = runtime.client("sqs")
    [message] = sqs.receive_message(
        QueueUrl=runtime.resource_ref("FailuresQueue"), MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert json.loads(message["Body"])["detail"] == {"event_id": "x-1"}
    assert message["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"] == "RuntimeError: boom: Explode"
    assert message["MessageAttributes"]["RULE_ARN"]["StringValue"].endswith("FailingFunctionExplosions")


def test_sqs_event_source_honours_reported_batch_item_failures_and_the_redrive_policy(runtime: LocalRuntime) -> None:
    # Given WorkerFunction reports bodies starting with "fail" as failed; WorkQueue redrives after 2 receives
    sqs = runtime.client("sqs")
    queue = runtime.resource_ref("WorkQueue")
    sqs.send_message(QueueUrl=queue, MessageBody="ok-1")
    sqs.send_message(QueueUrl=queue, MessageBody="fail-1")
    # When everything is drained
    deliveries = runtime.drain()
    # Then the first batch was partial, the failed message came back once more, then moved to the DLQ
    assert [d.outcome for d in deliveries] == ["partial", "partial"]
    assert [len(d.event["Records"]) for d in deliveries] == [2, 1]
    assert deliveries[1].event["Records"][0]["body"] == "fail-1"
    record = deliveries[0].event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == runtime.resource_attribute("WorkQueue", "Arn")
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody"}
    dead = sqs.receive_message(QueueUrl=runtime.resource_ref("WorkDeadLetterQueue"))["Messages"]
    assert [message["Body"] for message in dead] == ["fail-1"]
    items = runtime.client("dynamodb").query(
        TableName=runtime.table_name("RecordsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "work"}},
    )["Items"]
    assert len(items) == 1


def test_a_table_stream_feeds_its_function_with_only_the_records_its_filter_keeps(runtime: LocalRuntime) -> None:
    # Given StreamFunction reads RecordsTable's stream, filtered to INSERTs of kind "order-placed"
    dynamodb = runtime.client("dynamodb")
    table = runtime.table_name("RecordsTable")
    # When one matching and one other item are written
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "o-9"}, "sk": {"S": "1"}, "kind": {"S": "order-placed"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "n-1"}, "sk": {"S": "1"}, "kind": {"S": "note"}})
    deliveries = [d for d in runtime.drain() if d.kind == "DynamoDB"]
    # Then one batch with only the matching INSERT arrived, shaped like Lambda's stream event
    assert [d.outcome for d in deliveries] == ["delivered"]
    [record] = deliveries[0].event["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"] == runtime.resource_attribute("RecordsTable", "StreamArn")
    assert record["dynamodb"]["NewImage"]["kind"] == {"S": "order-placed"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    # And the function's own write (kind "stream") did not feed it back: the stream is quiet now
    assert len(recorded(runtime, "stream")) == 1
    assert runtime.drain() == []


def test_the_stream_keeps_flowing_after_a_cancelled_transaction(runtime: LocalRuntime) -> None:
    # Given an order item in the table, then a transaction that is cancelled (moto restores its tables from a copy)
    dynamodb = runtime.client("dynamodb")
    table = runtime.table_name("RecordsTable")
    first = {"pk": {"S": "o-1"}, "sk": {"S": "1"}, "kind": {"S": "order-placed"}}
    dynamodb.put_item(TableName=table, Item=first)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": first, "ConditionExpression": "attribute_not_exists(pk)"}}
            ]
        )
    # When another order item is written afterwards and everything is drained
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "o-2"}, "sk": {"S": "1"}, "kind": {"S": "order-placed"}})
    deliveries = [d for d in runtime.drain() if d.kind == "DynamoDB"]
    # Then both orders reached the stream's function, once each
    keys = [record["dynamodb"]["Keys"]["pk"]["S"] for d in deliveries for record in d.event["Records"]]
    assert keys == ["o-1", "o-2"]


def test_fire_schedule_delivers_a_scheduled_event_now(runtime: LocalRuntime) -> None:
    # Given TickFunction's rate(5 minutes) schedule
    # When a test fires it
    deliveries = runtime.fire_schedule("TickFunction", "Every5")
    # Then the function got EventBridge's Scheduled Event once
    assert [(d.trigger, d.outcome) for d in deliveries] == [("TickFunction.Every5", "delivered")]
    [tick] = recorded(runtime, "ticks")
    assert tick["detail-type"] == "Scheduled Event"
    assert tick["source"] == "aws.events"
    assert tick["detail"] == {}
    assert tick["resources"][0].endswith(":rule/omnichannel-local-TickFunctionEvery5")


def test_schedules_fire_on_time_from_the_background_thread() -> None:
    # Given a runtime delivering in the background, with TickFunction's rate(5 minutes) schedule
    with LocalRuntime.start(TEMPLATE, config=CONFIG, background=True) as runtime:
        [every5] = [s for s in runtime.delivery.subscriptions if s.trigger == "TickFunction.Every5"]
        [nightly] = [s for s in runtime.delivery.subscriptions if s.trigger == "TickFunction.Nightly"]
        now = datetime.now(UTC)
        assert every5.next_fire is not None
        assert timedelta(minutes=4) < every5.next_fire - now <= timedelta(minutes=5)
        assert nightly.next_fire is not None
        assert (nightly.next_fire.hour, nightly.next_fire.minute) == (3, 0)
        # When its time comes
        every5.next_fire = now - timedelta(seconds=1)
        # Then it fires by itself, once, and is scheduled again 5 minutes later
        deadline = time.monotonic() + 5
        while not recorded(runtime, "ticks") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded(runtime, "ticks")) == 1
        assert every5.next_fire > now + timedelta(minutes=4)


def test_the_background_thread_delivers_bus_events_without_drain() -> None:
    # Given a runtime delivering in the background, as `serve` runs it
    with LocalRuntime.start(TEMPLATE, config=CONFIG, background=True) as runtime:
        # When an event is put on the bus
        runtime.put_event("Order Completed", {"event_id": "o-bg"}, source="fixture.shop")
        # Then it reaches the consumer shortly, with nobody calling drain()
        deadline = time.monotonic() + 5
        while not recorded(runtime, "orders") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [event["detail"]["event_id"] for event in recorded(runtime, "orders")] == ["o-bg"]


def test_a_rule_fills_a_queue_that_a_function_reads_in_batches_bigger_than_one_receive(runtime: LocalRuntime) -> None:
    # Given BatchRule ($or of two patterns) -> BatchQueue -> BatchFunction (BatchSize 25)
    for number in range(30):
        runtime.put_event(
            "Batch Me", {"event_id": f"b-{number}"}, source="fixture.batch" if number % 2 else "fixture.other"
        )
    runtime.put_event("Not Me", {"event_id": "x"}, source="fixture.other")
    # When everything is delivered
    deliveries = [d for d in runtime.drain() if d.function == "BatchFunction"]
    # Then the 30 matching events came in two batches, the first full (25 > one receive of 10), each record the
    # EventBridge event as the queue received it (account included)
    assert [len(d.event["Records"]) for d in deliveries] == [25, 5]
    bodies = [json.loads(record["body"]) for d in deliveries for record in d.event["Records"]]
    assert sorted(body["detail"]["event_id"] for body in bodies) == sorted(f"b-{n}" for n in range(30))
    assert {body["account"] for body in bodies} == {"123456789012"}
    assert set(bodies[0]) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }


def test_a_failed_record_comes_back_at_once_then_moves_to_the_dead_letter_queue(runtime: LocalRuntime) -> None:
    # Given a queue whose visibility timeout is 5 minutes and which redrives after 2 receives
    runtime.put_event("Batch Me", {"event_id": "ok"}, source="fixture.batch")
    runtime.put_event("Batch Me", {"event_id": "bad", "fail": True}, source="fixture.batch")
    # When everything is delivered (no waiting for the visibility timeout)
    deliveries = [d for d in runtime.drain() if d.function == "BatchFunction"]
    # Then the failed record was handed over twice, alone the second time, then SQS moved it to the DLQ
    assert [len(d.event["Records"]) for d in deliveries] == [2, 1]
    assert [d.outcome for d in deliveries] == ["partial", "partial"]
    sqs = runtime.client("sqs")
    dead = sqs.receive_message(QueueUrl=runtime.resource_ref("BatchDeadLetterQueue"))["Messages"]
    assert [json.loads(message["Body"])["detail"]["event_id"] for message in dead] == ["bad"]
    assert sqs.receive_message(QueueUrl=runtime.resource_ref("BatchQueue")).get("Messages", []) == []
