"""SQS batches of bus events, as Lambda hands a queue's messages to a function (rule → queue → Lambda)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:test-queue"


def bus_event(
    source: str, detail_type: str, detail: Mapping[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-06-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": dict(detail),
    }


def sqs_record(body: str, *, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle-" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1780000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1780000000000",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum, not security
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }


def sqs_batch(events: Iterable[Mapping[str, Any] | str]) -> dict[str, Any]:
    """One SQS event whose records carry ``events`` (an event, or a raw body string to test what is not one)."""
    return {"Records": [sqs_record(event if isinstance(event, str) else json.dumps(event)) for event in events]}


def failed_ids(answer: Mapping[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in answer.get("batchItemFailures", [])]
