"""moto-backed fixtures for the capture function: the events table exactly as template.yaml defines it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from capture.dal.event_store import DynamoDBEventStore
from tests.support.moto_tables import create_table, table_properties


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
