from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.dynamodb import cancellation_codes, condition_failed, ttl_after


def _error(code: str, reasons: list[dict[str, str]] | None = None) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, "Op")


def test_condition_failed() -> None:
    assert condition_failed(_error("ConditionalCheckFailedException"))
    assert not condition_failed(_error("ProvisionedThroughputExceededException"))


def test_cancellation_codes_per_item() -> None:
    error = _error("TransactionCanceledException", [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}])
    assert cancellation_codes(error) == [None, "ConditionalCheckFailed"]
    assert cancellation_codes(_error("ValidationException")) == []


def test_ttl_after() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert ttl_after(moment, timedelta(days=1)) == int(moment.timestamp()) + 86_400
