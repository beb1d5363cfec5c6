"""Entry point of the KPI rollup: SQS batches (rule → queue → Lambda, up to 1,000 events) of capture events, profile
events and ``cart.recovered``, rolled up into the KPI table.

The batch goes to the rollup as one sequence of EventBridge events (``apply_batch``), so that it can sum a batch's
counter deltas in memory before writing them. The rollup reports the events it can never count (``poison``: index
→ reason), which are quarantined once in the queue's dead-letter queue; it raises for a transient failure, and the
batch's records come back (its per-event dedupe makes the redelivery exact). See ``omnichannel.bus_batch``.

``PerEventRollup`` adapts today's per-event rollup (``kpis.logic.dispatch.apply``) to that interface; the batch
rollup (``wiring.get_rollup_service()``) takes its place once it exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from kpis import wiring
from kpis.logic.dispatch import UncountableEvent, apply
from kpis.logic.rollup_service import ConcurrentUpdates
from kpis.observability import logger, metrics, tracer
from omnichannel.bus_batch import ALWAYS_TRANSIENT, BatchOutcome, BusBatchConsumer, error_reason, validation_reason


class BatchRollup(Protocol):
    def apply_batch(self, events: Sequence[Mapping[str, Any]]) -> BatchOutcome: ...


class PerEventRollup:
    """Today's rollup, one event after the other: what raises ``UncountableEvent``, does not validate, or fails
    for good is poison; a transient failure stops the batch (what was applied before it is deduped on redelivery)."""

    TRANSIENT: tuple[type[BaseException], ...] = (*ALWAYS_TRANSIENT, ConcurrentUpdates)

    def apply_batch(self, events: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        outcome = BatchOutcome()
        service = wiring.get_service()
        for index, event in enumerate(events):
            detail = event.get("detail")
            try:
                result = apply(
                    service, str(event.get("source", "")), str(event.get("detail-type", "")), dict(detail or {})
                )
            except ValidationError as error:
                outcome.poison[index] = validation_reason(error, "detail.")
            except UncountableEvent as error:
                outcome.poison[index] = error_reason(error)
            except self.TRANSIENT:
                raise
            except Exception as error:  # deterministic: the same event fails the same way every time
                outcome.poison[index] = error_reason(error)
            else:
                metrics.add_metric(name=f"KpiEvents{result.capitalize()}", unit="Count", value=1)
        if outcome.poison:
            metrics.add_metric(name="KpiEventsUncountable", unit="Count", value=len(outcome.poison))
        return outcome


def get_rollup() -> BatchRollup:
    return PerEventRollup()


consumer = BusBatchConsumer(logger, metrics)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle_batch(event, context, get_rollup().apply_batch)
