"""Entry point of carts' bus consumer: SQS batches (rule → queue → Lambda) of captured e-commerce events and profile
events.

Each event changes a cart at most once (its id is remembered in the cart). An event that cannot concern a cart
(no identifier, no product, a name carts does not follow) is skipped and counted; a detail that does not validate,
or that the cart rules can never accept, is quarantined once; a write that keeps losing races fails only its
record, which comes back. ``cart.*`` events are announced through the carts table's stream (the outbox), so a bus
that refuses them here loses nothing. See ``omnichannel.bus_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from carts import wiring
from carts.logic.cart_service import TooMuchContention
from carts.logic.commerce_events import CART_EVENTS, UnusableEvent, apply_event
from carts.logic.profile_sync import ProfileSync, SyncResult
from carts.observability import logger, metrics, tracer
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileErased,
    ProfileEventType,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
)


def commerce(event: CanonicalEvent) -> str:
    result = apply_event(wiring.get_service(), event)
    metrics.add_metric(name=f"CartEvents{result.outcome.title()}", unit="Count", value=1)
    return result.outcome


def _synced(result: SyncResult) -> str:
    metrics.add_metric(name="CartsMerged", unit="Count", value=len(result.merged))
    return "synced"


def _sync() -> ProfileSync:
    return ProfileSync(wiring.get_service())


consumer = BusBatchConsumer(logger, metrics, transient=(TooMuchContention,), skip=(UnusableEvent,))
consumer.route(CAPTURE_SOURCE, CART_EVENTS, CanonicalEvent, commerce)
consumer.route(
    PROFILES_SOURCE, {ProfileEventType.CREATED}, ProfileCreated, lambda event: _synced(_sync().created(event))
)
consumer.route(
    PROFILES_SOURCE, {ProfileEventType.UPDATED}, ProfileUpdated, lambda event: _synced(_sync().updated(event))
)
consumer.route(PROFILES_SOURCE, {ProfileEventType.MERGED}, ProfileMerged, lambda event: _synced(_sync().merged(event)))
consumer.route(
    PROFILES_SOURCE, {ProfileEventType.UNMERGED}, ProfileUnmerged, lambda event: _synced(_sync().unmerged(event))
)
consumer.route(PROFILES_SOURCE, {ProfileEventType.ERASED}, ProfileErased, lambda event: _synced(_sync().erased(event)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consumer.handle(event, context)
