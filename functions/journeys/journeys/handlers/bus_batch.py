"""Entry point of the journeys' bus consumer: SQS batches (rule → queue → Lambda) of bus events (capture's,
``lifecycle.changed``, ``cart.abandoned``, the profiles') move the customers' journeys.

``process(envelopes)`` is the whole of it and takes the batch's EventBridge events in order; the shared shell
(``omnichannel.bus_batch``, ``handle_batch``) hands them over and settles each record from the answer:

- an event the journeys can never read (``dropped:<error>``) is quarantined once in the queue's dead-letter queue,
  with that reason;
- an event to deliver again (it would start a journey, but its customer's profile does not exist yet) fails alone
  and comes back after the queue's visibility timeout, until its retry window has passed;
- everything else is done. A transient AWS failure raises: the batch's records come back, and each event is applied
  once per customer, so the redelivery changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys import wiring
from journeys.logic.service import BatchResult
from journeys.observability import logger, metrics, tracer
from omnichannel.bus_batch import BatchOutcome, BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE
from omnichannel.cart_events import CARTS_SOURCE, CartEventType
from omnichannel.profile_events import PROFILES_SOURCE, ProfileEventType

DROPPED = "dropped"


def process(envelopes: Sequence[dict[str, Any]]) -> BatchResult:
    result = wiring.get_service().handle(envelopes)
    for envelope_id, outcome in result.outcomes.items():
        metrics.add_metric(name=f"JourneyEvents_{outcome.split(':')[0]}", unit="Count", value=1)
        if outcome.startswith(DROPPED):
            logger.warning("event dropped", extra={"envelope_id": envelope_id, "reason": outcome})
    return result


def apply_batch(events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
    """``process`` in the shell's terms: the dropped events are poison, those to deliver again are retried."""
    envelopes = [dict(event) for event in events]
    result = process(envelopes)
    again = set(result.failed)
    outcome = BatchOutcome()
    for index, envelope in enumerate(envelopes):
        envelope_id = str(envelope.get("id") or "")
        verdict = result.outcomes.get(envelope_id, "")
        if verdict.startswith(DROPPED):
            outcome.poison[index] = verdict
        elif envelope_id in again:
            outcome.retry.add(index)
    return outcome


consumer = BusBatchConsumer(logger, metrics)
# Of a bundle (omnichannel.event_bus), the journeys are given what their rule (template.yaml, JourneysEventsRule)
# would have delivered alone.
consumer.accept(
    CAPTURE_SOURCE,
    {
        "Store Visited",
        "Order Completed",
        "Order Refunded",
        "Consultation Booked",
        "Message Received",
        "Survey Answered",
    },
)
consumer.accept(PROFILES_SOURCE, set(ProfileEventType) - {ProfileEventType.EVENTS_ERASURE_REQUESTED})
consumer.accept(CARTS_SOURCE, {CartEventType.ABANDONED})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle_batch(event, context, apply_batch)
