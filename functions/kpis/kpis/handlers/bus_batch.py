"""Entry point of the KPI rollup: SQS batches (rule → queue → Lambda, up to 40 records: bundles of events or single
events, about 700 events it counts) of capture events, profile events, ``cart.recovered`` and the journeys' ``Survey
Answered``, rolled up into the KPI table.

The batch goes to the rollup as one sequence of EventBridge events (``RollupService.apply_batch``): each event
counted once (page views by their visit, the others by a conditional dedupe item), the batch's counter deltas
summed in memory per key and written in as few transactions as the 100-item limit allows, hot counters sharded.
The rollup reports the events it can never count (``poison``: index → reason), which are quarantined once in the
queue's dead-letter queue; it raises for a transient failure, and the batch's records come back (per-event
dedupe makes the redelivery exact). See
``omnichannel.bus_batch`` and ``docs/kpis.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from kpis import wiring
from kpis.observability import logger, metrics, tracer
from omnichannel.bus_batch import BatchOutcome, BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE
from omnichannel.cart_events import CARTS_SOURCE, CartEventType
from omnichannel.profile_events import PROFILES_SOURCE, ProfileEventType


def apply_batch(events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
    result = wiring.get_rollup_service().apply_batch(events)
    for outcome, count in sorted(Counter(result.outcomes).items()):  # KpiEventsUncountable: quarantined or not
        metrics.add_metric(name=f"KpiEvents{outcome.capitalize()}", unit="Count", value=count)
    return BatchOutcome(poison=dict(result.poison))


consumer = BusBatchConsumer(logger, metrics)
# Of a bundle (omnichannel.event_bus), the rollup is given what its rule (template.yaml, KpisRollupRule) would have
# delivered alone.
consumer.accept(
    CAPTURE_SOURCE,
    {
        "Order Completed",
        "Order Refunded",
        "page",
        "screen",
        "Store Visited",
        "Lead Created",
        "Signed Up",
        "Survey Answered",
    },
)
consumer.accept(
    PROFILES_SOURCE,
    {ProfileEventType.CREATED, ProfileEventType.UPDATED, ProfileEventType.MERGED, ProfileEventType.ERASED},
)
consumer.accept(CARTS_SOURCE, {CartEventType.RECOVERED})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle_batch(event, context, apply_batch)
