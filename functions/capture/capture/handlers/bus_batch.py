"""Entry point of capture's erasure: SQS batches of ``events.erasure_requested`` (rule → queue → Lambda) erase a
customer from capture's table (the decision: ``logic/erasure.py``).

The profiles function erases its own table and names the stored events that carry the customer's identifiers
(from its timeline rows and cross-references, in parts of at most 1,000 ids) with the identifiers' digests; this
reads those events by key, deletes every one that is only theirs and takes their identifiers out of events that are
also someone else's (whose else an event is: the profiles table, read-only, one identifier item at a time).
Idempotent: a redelivery finds nothing left to do. A detail that is not an ``events.erasure_requested`` is
quarantined; a DynamoDB failure fails only its record, which comes back. See ``omnichannel.bus_batch``. The raw
messages in the data lake are not touched here (see docs/security.md, open items).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture import wiring
from capture.logic.erasure import ErasureDecision, erase_customer_events
from capture.observability import logger, metrics, tracer
from capture.settings import get_settings
from omnichannel import aws_clients
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.profile_directory import ProfileDirectory
from omnichannel.profile_events import PROFILES_SOURCE, EventsErasureRequested, ProfileEventType


def erase(request: EventsErasureRequested) -> ErasureDecision:
    settings = get_settings()
    directory = ProfileDirectory(settings.profiles_table_name, aws_clients.dynamodb())
    erased_profiles = {*request.profile_ids, *([request.profile_id] if request.profile_id else [])}
    decision = erase_customer_events(
        wiring.get_event_store(),
        request.event_ids,
        request.erased,
        erased_profiles,
        lambda identifier: directory.profile_of(*identifier),
        default_region=settings.default_phone_region,
    )
    metrics.add_metric(name="ErasedEvents", unit=MetricUnit.Count, value=len(decision.delete))
    metrics.add_metric(name="RedactedEvents", unit=MetricUnit.Count, value=len(decision.redact))
    logger.info(
        "captured events erased",
        extra={
            "profile_id": request.profile_id,
            "part": f"{request.part}/{request.parts}",
            "identifiers": len(request.erased),
            "events_named": len(request.event_ids),
            "events_deleted": len(decision.delete),
            "events_redacted": len(decision.redact),
        },
    )
    return decision


consumer = BusBatchConsumer(logger, metrics)
consumer.route(PROFILES_SOURCE, {ProfileEventType.EVENTS_ERASURE_REQUESTED}, EventsErasureRequested, erase)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle(event, context)
