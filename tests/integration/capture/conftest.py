"""moto-backed fixtures for the capture function: the events table exactly as template.yaml defines it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from capture.dal.event_store import DynamoDBEventStore

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    pass


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def table_properties(logical_id: str) -> dict[str, Any]:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def create_table(client: Any, name: str, properties: dict[str, Any]) -> None:
    args = {
        key: properties[key]
        for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
        if key in properties
    }
    client.create_table(TableName=name, **args)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name="eu-west-1")


@pytest.fixture
def events_table(dynamodb: Any) -> str:
    create_table(dynamodb, "events", table_properties("EventsTable"))
    return "events"


@pytest.fixture
def store(dynamodb: Any, events_table: str) -> DynamoDBEventStore:
    return DynamoDBEventStore(dynamodb, events_table, retention_days=30, outbox_shards=4)
