"""DynamoDB helpers every function's data layer needs: reading conditional-write and transaction failures,
TTL values, and the low-level attribute-value format (the client API, faster than boto3's resource layer)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def condition_failed(error: ClientError) -> bool:
    """A conditional PutItem / UpdateItem / DeleteItem whose condition did not hold."""
    return error_code(error) == "ConditionalCheckFailedException"


def cancellation_codes(error: ClientError) -> list[str | None]:
    """Per transaction item, why a TransactWriteItems was cancelled (None where that item was fine); [] when the
    error is not a cancellation."""
    if error_code(error) != "TransactionCanceledException":
        return []
    reasons: list[Any] = list(error.response.get("CancellationReasons") or [])
    return [reason.get("Code") if reason.get("Code") not in (None, "None") else None for reason in reasons]


def ttl_after(moment: datetime, keep: timedelta) -> int:
    """The epoch-seconds value of a TTL attribute that expires ``keep`` after ``moment``."""
    return int((moment + keep).timestamp())


def string(value: str) -> dict[str, str]:
    return {"S": value}


def number(value: int | float | str) -> dict[str, str]:
    return {"N": str(value)}


def put_new(client: Any, table: str, item: dict[str, Any]) -> bool:
    """PutItem unless an item with the same key exists (``attribute_not_exists(pk)``): False, nothing written, when
    it does (a redelivered request, a known id)."""
    try:
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as error:
        if condition_failed(error):
            return False
        raise
    return True
