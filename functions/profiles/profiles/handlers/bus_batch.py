"""Entry point of the profiles resolver: SQS batches of captured events (rule → queue → Lambda), each event's
identifiers resolved to one profile.

A batch's identifiers are read first in one go (``BatchGetItem``), then every event is resolved in the order it
occurred (as the profile's stamps order them: a queue keeps no order, and a session's later page view resolved
first would make each earlier one move the profile's first touch back, a profile write apiece), each with its own
conditional transaction: a merge keeps its per-profile transaction. Resolution is idempotent on the event id (its
timeline row is written on condition it is not there, with the change), so a redelivered record changes nothing.
A detail that is not a canonical event is quarantined with the failing fields (never their values); resolution
that keeps losing races (``GaveUp``) fails only its record, which comes back. See ``omnichannel.bus_batch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.event_bus import BUNDLE_DETAIL_TYPE as BUNDLE
from profiles import wiring
from profiles.logic.resolver_service import GaveUp, Outcome
from profiles.observability import logger, metrics, tracer


def resolve(captured: CanonicalEvent) -> str:
    resolution = wiring.get_resolver().resolve(captured)
    metrics.add_metric(
        name=f"Profiles{resolution.outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    if resolution.attempts > 1:
        metrics.add_metric(name="ResolutionRetries", unit=MetricUnit.Count, value=resolution.attempts - 1)
    if resolution.conflicts:
        metrics.add_metric(name="IdentityConflicts", unit=MetricUnit.Count, value=resolution.conflicts)
    if resolution.outcome is not Outcome.UNCHANGED:
        # A merge or a conflict is worth a line; a created or updated profile (nearly every event) is a debug line
        # (sampled by POWERTOOLS_LOGGER_SAMPLE_RATE): at 10,000 events/s an INFO line per event would cost more in
        # CloudWatch Logs than the resolver's own writes.
        log = logger.info if resolution.merged_ids or resolution.conflicts else logger.debug
        log(
            "resolved",
            extra={
                "outcome": resolution.outcome.value,
                "profile_id": resolution.profile_id,
                "merged_ids": list(resolution.merged_ids),
                "conflicts": resolution.conflicts,
            },
        )
    return resolution.outcome.value


consumer = BusBatchConsumer(logger, metrics, transient=(GaveUp,))
consumer.route(CAPTURE_SOURCE, None, CanonicalEvent, resolve)


_UNREADABLE = (datetime.min.replace(tzinfo=UTC), "")


def _stamp(detail: Any) -> tuple[datetime, str]:
    try:
        moment = datetime.fromisoformat(str(detail["occurred_at"]))
        event_id = str(detail.get("event_id") or "")
    except (ValueError, TypeError, KeyError, AttributeError):
        return _UNREADABLE
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)), event_id


def _sorted_bundle(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[datetime, str]]:
    """The record with a bundle's events in order of occurrence (rewritten only when it is a bundle), and the
    stamp it sorts by: its single event's, or its bundle's first event's."""
    try:
        body = json.loads(record.get("body") or "{}")
        detail = body["detail"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return record, _UNREADABLE
    events = detail.get("events") if isinstance(detail, dict) and body.get("detail-type") == BUNDLE else None
    if not isinstance(events, list):
        return record, _stamp(detail)
    stamped = sorted(events, key=lambda inner: _stamp(inner.get("detail") if isinstance(inner, dict) else None))
    if not stamped:
        return record, _UNREADABLE
    detail["events"] = stamped
    rewritten = {**record, "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False)}
    rewritten.pop("md5OfBody", None)
    first = stamped[0]
    return rewritten, _stamp(first.get("detail") if isinstance(first, dict) else None)


def in_order_of_occurrence(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records sorted as the profile's stamps order events: ``occurred_at``, then event id (capture gives a
    request's events one time, so the id decides which is first); a bundle's events sorted the same way within it,
    and the bundle placed by its first. Unreadable records keep their place, first; a partial batch response names
    records by message id, so the order is the handler's own business."""
    stamped = [_sorted_bundle(record) for record in records]
    return [record for record, _ in sorted(stamped, key=lambda pair: pair[1])]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = in_order_of_occurrence(event.get("Records") or [])
    with wiring.batch_reads(records):
        return consumer.handle({**event, "Records": records}, context)
