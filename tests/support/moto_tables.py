"""Tables in moto exactly as template.yaml defines them, and their streams read the way Lambda reads them."""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    pass


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@functools.cache
def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader
    return loaded


def table_properties(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = copy.deepcopy(_template()["Resources"][logical_id]["Properties"])
    return properties


def create_table(client: Any, name: str, properties: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        key: properties[key]
        for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
        if key in properties
    }
    if "StreamSpecification" in properties:
        args["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    client.create_table(TableName=name, **args)


def stream_records(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every record on the table's stream so far, in order, as Lambda would receive them."""
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


_moto_lock = threading.RLock()


@contextmanager
def atomic_moto_dynamodb() -> Iterator[None]:
    """Every moto DynamoDB request atomic, as DynamoDB's are: moto answers requests in Python without a lock, so
    two threads' conditional writes could interleave inside moto (a lost update DynamoDB never allows)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def serialised(self: Any) -> Any:
        with _moto_lock:
            return original(self)

    DynamoHandler.call_action = serialised  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
