"""Paths and helpers the local runtime's tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local_runtime import LocalRuntime

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE = FIXTURES / "template.yaml"
CONFIG = FIXTURES / "dev-config.json"


def recorded(runtime: LocalRuntime, recorder: str) -> list[dict[str, Any]]:
    """The events the recorder fixture function stored under its RECORDER name, oldest first."""
    items = runtime.client("dynamodb").query(
        TableName=runtime.table_name("RecordsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": recorder}},
    )["Items"]
    return [json.loads(item["event"]["S"]) for item in items if "event" in item]


def echoed(body: bytes) -> dict[str, Any]:
    """The echo fixture function's answer: the event it got, its environment and its context."""
    answer: dict[str, Any] = json.loads(body)
    return answer
