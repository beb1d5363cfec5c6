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


def in_order_of_occurrence(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records sorted as the profile's stamps order events: ``occurred_at``, then event id (capture gives a
    request's events one time, so the id decides which is first). Unreadable records keep their place, first; a
    partial batch response names records by message id, so the order is the handler's own business."""

    def stamp(record: Mapping[str, Any]) -> tuple[datetime, str]:
        try:
            detail = json.loads(record.get("body") or "{}")["detail"]
            moment = datetime.fromisoformat(str(detail["occurred_at"]))
            event_id = str(detail.get("event_id") or "")
        except (ValueError, TypeError, KeyError, AttributeError):
            return _UNREADABLE
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)), event_id

    return sorted(records, key=stamp)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = in_order_of_occurrence(event.get("Records") or [])
    with wiring.batch_reads(records):
        return consumer.handle({**event, "Records": records}, context)
