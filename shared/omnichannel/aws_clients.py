"""boto3 clients, created once per execution environment with timeouts and retries fit for Lambda.

``AWS_ENDPOINT_URL`` (read by botocore itself) points every client at the local moto server when the local
runtime runs, so the same code talks to AWS or to moto unchanged.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return client("events")  # type: ignore[no-any-return]


def reset() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    client.cache_clear()
