"""What the delivery loop reports, and Lambda's event filtering (``FilterCriteria``) done by moto's own
EventBridge pattern matcher, the same one that routes the bus."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

RecordFilter = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Delivery:
    """One invocation made by the delivery loop, and how it ended.

    ``outcome``: ``delivered``; ``retrying`` (failed, will be retried); ``dead-lettered`` or ``dropped`` (failed
    for the last time, sent to the DLQ / on-failure destination or not); ``partial`` (a batch with reported item
    failures); ``failed`` (an SQS batch that raised: its messages come back after the visibility timeout).
    """

    function: str
    trigger: str
    kind: str
    event: Any
    attempt: int
    outcome: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


def record_filter(criteria: Mapping[str, Any] | None) -> RecordFilter:
    """A predicate for ``FilterCriteria: {Filters: [{Pattern: ...}]}``: a record passes if any pattern matches."""
    filters = (criteria or {}).get("Filters") or []
    if not filters:
        return lambda _record: True
    from moto.events.models import EventPattern

    patterns = [EventPattern.load(_text(item["Pattern"])) for item in filters]
    return lambda record: any(pattern.matches_event(cast(Any, dict(record))) for pattern in patterns)


def sqs_filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda filters it: a JSON body is matched as JSON."""
    view = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        view["body"] = json.loads(record["body"])
    return view


def _text(pattern: Any) -> str:
    return pattern if isinstance(pattern, str) else json.dumps(pattern)
