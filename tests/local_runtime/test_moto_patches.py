"""The runtime's moto changes behave as stock moto does, without its cost: a cancelled transaction leaves the
tables and their streams exactly as stock moto's whole-table restore does, a committed one writes what it does,
and no model instance is kept once written over."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item

from local_runtime.moto_patches import patched_moto

TABLE = "patch-check"


@contextlib.contextmanager
def stock() -> Iterator[None]:
    yield


def _table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for pk, count in (("counter", "5"), ("gone", "1")):
        client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": "A"}, "n": {"N": count}})


def _state(client: Any, streams: Any) -> dict[str, Any]:
    items = sorted(client.scan(TableName=TABLE)["Items"], key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {
        "items": items,
        "stream": [(record["eventName"], record["dynamodb"]["Keys"]["pk"]["S"]) for record in records],
    }


def _run(changes: Any, actions: list[dict[str, Any]]) -> dict[str, Any]:
    with mock_aws(), changes():
        client: Any = boto3.client("dynamodb", region_name="eu-west-1")
        streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
        _table(client)
        outcome: dict[str, Any] = {}
        try:
            client.transact_write_items(TransactItems=actions)
            outcome["error"] = None
        except ClientError as error:
            outcome["error"] = error.response["Error"]["Code"]
            outcome["reasons"] = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
        return {**outcome, **_state(client, streams)}


def _update(pk: str, condition: str | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}, "sk": {"S": "A"}},
        "UpdateExpression": "ADD n :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":ten": {"N": "10"}},
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}


PUT_NEW = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}, "sk": {"S": "A"}}}}
DEDUPE = {
    "Put": {
        "TableName": TABLE,
        "Item": {"pk": {"S": "counter"}, "sk": {"S": "A"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
}
DELETE = {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "gone"}, "sk": {"S": "A"}}}}
CASES = {
    # A counter ADD in place, a new item and a delete, then a failing condition: all of it undone
    "cancelled by the last action": [_update("counter2"), PUT_NEW, DELETE, _update("counter", "n > :ten")],
    "cancelled by the first action": [DEDUPE, _update("counter2"), PUT_NEW],
    "committed": [_update("counter", "n < :ten"), PUT_NEW, DELETE],
    "two actions on one item": [_update("counter"), _update("counter")],
}


@pytest.mark.parametrize("case", CASES)
def test_a_transaction_ends_as_it_does_on_stock_moto(case: str) -> None:
    on_stock = _run(stock, CASES[case])
    on_runtime = _run(patched_moto, CASES[case])
    assert on_runtime == on_stock
    if case.startswith("cancelled"):
        # the fixture's two puts only: the cancelled writes left no item and no stream record
        assert on_runtime["stream"] == [("INSERT", "counter"), ("INSERT", "gone")]
        assert on_runtime["reasons"][-1 if "last" in case else 0] == "ConditionalCheckFailed"
    if case == "committed":
        assert [item["n"]["N"] for item in on_runtime["items"] if item["pk"]["S"] == "counter"] == ["6"]
        assert len(on_runtime["stream"]) == 5


def test_items_written_over_are_not_kept_while_the_runtime_runs_and_tracking_returns_after() -> None:
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="eu-west-1")
        with patched_moto():
            _table(client)
            for number in range(50):
                client.transact_write_items(TransactItems=[_update("counter"), _update(f"other-{number}")])
            assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
            assert client.get_item(TableName=TABLE, Key={"pk": {"S": "counter"}, "sk": {"S": "A"}})["Item"]["n"] == {
                "N": "55"
            }
        client.put_item(TableName=TABLE, Item={"pk": {"S": "after"}, "sk": {"S": "A"}})
        assert len(Item.instances_tracked) >= 1  # type: ignore[attr-defined]


EVERY_TYPE = {
    "pk": {"S": "every-type"},
    "sk": {"S": "A"},
    "text": {"S": "çok güzel ✓"},
    "number": {"N": "-12.50"},
    "blob": {"B": b"\x00\x01zlib\xff"},
    "texts": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02\x03"]},
    "nothing": {"NULL": True},
    "yes": {"BOOL": False},
    "empty_text": {"S": ""},
    "map": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"B": b"\x04"}}}, {"BOOL": True}]}}},
    "list": {"L": []},
    "empty_map": {"M": {}},
}


def _every_read(client: Any) -> list[Any]:
    """Every DynamoDB answer that carries items, for the item of every attribute type."""
    key = {"pk": EVERY_TYPE["pk"], "sk": EVERY_TYPE["sk"]}
    client.put_item(TableName=TABLE, Item=EVERY_TYPE)
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [
        client.get_item(TableName=TABLE, Key=key)["Item"],
        client.query(
            TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": EVERY_TYPE["pk"]}
        )["Items"],
        client.batch_get_item(RequestItems={TABLE: {"Keys": [key]}})["Responses"],
        sorted(client.scan(TableName=TABLE)["Items"], key=lambda item: item["pk"]["S"]),
        client.update_item(
            TableName=TABLE, Key=key, UpdateExpression="SET #n = #n + :one", ReturnValues="ALL_NEW",
            ExpressionAttributeNames={"#n": "number"}, ExpressionAttributeValues={":one": {"N": "1"}},
        )["Attributes"],
        [(record["eventName"], record["dynamodb"].get("NewImage"), record["dynamodb"].get("OldImage"))
         for record in records],
    ]  # fmt: skip


def test_items_of_every_attribute_type_read_back_as_on_stock_moto() -> None:
    # Given the same item of every attribute type (blobs, sets, nested maps and lists, empty values) on stock moto
    # and on the runtime's moto
    answers = []
    for patches in (stock, patched_moto):
        with mock_aws(), patches():
            client = boto3.client("dynamodb", region_name="eu-west-1")
            _table(client)
            # When every kind of read answers it
            answers.append(_every_read(client))
    # Then the answers are the same, and hold what was written
    assert answers[0] == answers[1]
    assert answers[1][0] == {**EVERY_TYPE, "number": {"N": "-12.50"}}
    assert Decimal(answers[1][4]["number"]["N"]) == Decimal("-11.5")


def _queues(sqs: Any) -> list[Any]:
    standard = sqs.create_queue(QueueName="standard")["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName="ordered.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body in ("one", "two", "one"):
        sqs.send_message(QueueUrl=standard, MessageBody=body)
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g")
    sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=1)
    return [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] for url in (standard, fifo)]


def test_queues_take_and_count_messages_as_on_stock_moto() -> None:
    # Given a standard queue and a FIFO queue with content-based deduplication, on stock moto and the runtime's
    answers = []
    for patches in (stock, patched_moto):
        with mock_aws(), patches():
            # When the same bodies are sent to both (one of them twice) and one message is received
            answers.append(_queues(boto3.client("sqs", region_name="eu-west-1")))
    ignored = {"CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}
    stock_answer, patched_answer = ([{k: v for k, v in q.items() if k not in ignored} for q in a] for a in answers)
    # Then both count the same: the standard queue kept all three (one in flight), the FIFO queue dropped the repeat
    assert patched_answer == stock_answer
    assert patched_answer[0]["ApproximateNumberOfMessages"] == "2"
    assert patched_answer[0]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert patched_answer[1]["ApproximateNumberOfMessages"] == "2"


def _deletes(sqs: Any) -> list[Any]:
    url = sqs.create_queue(QueueName="deletes", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    for number in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    outcomes: list[Any] = []
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # visible again: new handles
    # the newest handle of one message, an older handle of another, one twice, a batch, and a made-up handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    batch = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(again[2:6])]
        + [{"Id": "made-up", "ReceiptHandle": "not-a-handle"}],
    )
    outcomes.append(sorted(entry["Id"] for entry in batch.get("Successful", [])))
    outcomes.append([entry["Code"] for entry in batch.get("Failed", [])])
    try:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    except ClientError as error:
        outcomes.append(error.response["Error"]["Code"])
    left = []
    while received := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        left += [m["Body"] for m in received]
        for message in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    outcomes.append(sorted(left, key=int))
    return outcomes


def test_messages_are_deleted_as_on_stock_moto() -> None:
    # Given the same queue on stock moto and the runtime's, and the same deletes (new and old handles, a handle
    # deleted twice, a batch with a made-up handle)
    answers = []
    for patches in (stock, patched_moto):
        with mock_aws(), patches():
            answers.append(_deletes(boto3.client("sqs", region_name="eu-west-1")))
    # Then both delete the same messages and refuse the same handles
    assert answers[1] == answers[0]
    assert len(answers[1][-1]) == 30 - 6
    assert answers[1][1] == ["ReceiptHandleIsInvalid"]


def _reads_of_many_partitions(client: Any) -> list[Any]:
    client.create_table(
        TableName="many",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for partition in ("b", "a", "c"):
        for n in (5, 12, 1, 30, 7):
            item = {"pk": {"S": partition}, "sk": {"S": f"D#{n:02d}"}, "v": {"N": str(n)}, "g": {"N": str(n % 2)}}
            client.put_item(TableName="many", Item=item)
    answers: list[Any] = []
    for forward in (True, False):
        request: dict[str, Any] = {
            "TableName": "many",
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"S": "D#02"}, ":hi": {"S": "D#29"}},
            "ScanIndexForward": forward,
            "Limit": 2,
        }
        while True:  # page by page
            page = client.query(**request)
            answers.append((page["Items"], page.get("LastEvaluatedKey")))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    answers.append(client.query(TableName="many", KeyConditionExpression="pk = :p",
                                ExpressionAttributeValues={":p": {"S": "nobody"}})["Items"])  # fmt: skip
    answers.append(client.query(TableName="many", IndexName="by_g", KeyConditionExpression="g = :g",
                                ExpressionAttributeValues={":g": {"N": "1"}})["Items"])  # fmt: skip
    answers.append(client.scan(TableName="many")["Items"])
    return answers


def test_queries_and_scans_answer_as_on_stock_moto_from_a_partition() -> None:
    # Given a table of three partitions with an index, on stock moto and on the runtime's moto
    answers = []
    for patches in (stock, patched_moto):
        with mock_aws(), patches():
            # When a range of one partition is queried page by page both ways, an absent partition, the index, a scan
            answers.append(_reads_of_many_partitions(boto3.client("dynamodb", region_name="eu-west-1")))
    # Then every answer, page and next key is the same, in the same order
    assert answers[0] == answers[1]
    forward: list[str] = []
    for items, next_key in answers[1]:
        forward += [item["sk"]["S"] for item in items]
        if next_key is None:
            break
    assert forward == ["D#05", "D#07", "D#12"]
