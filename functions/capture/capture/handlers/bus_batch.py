"""Entry point of capture's erasure: SQS batches of ``profile.erased`` (rule → queue → Lambda) delete the customer's
captured events from capture's table.

The profiles function erases its own table and announces the identifiers the customer had; this deletes every
stored event carrying any of them (found through the identifier indexes). Idempotent: a redelivery finds nothing
left to delete. A detail that is not a ``profile.erased`` is quarantined; a DynamoDB failure fails only its record,
which comes back. See ``omnichannel.bus_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.observability import logger, metrics, tracer
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.profile_events import PROFILES_SOURCE, ProfileErased, ProfileEventType


def erase(erased: ProfileErased) -> int:
    identifiers = [(kind.value, value) for kind, values in erased.identifiers.items() for value in values]
    deleted = wiring.get_event_store().erase_events_of(identifiers)
    metrics.add_metric(name="ErasedEvents", unit=MetricUnit.Count, value=deleted)
    logger.info(
        "captured events erased",
        extra={"profile_id": erased.profile_id, "identifiers": len(identifiers), "events_deleted": deleted},
    )
    return deleted


consumer = BusBatchConsumer(logger, metrics)
consumer.route(PROFILES_SOURCE, {ProfileEventType.ERASED}, ProfileErased, erase)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle(event, context)
