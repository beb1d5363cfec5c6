"""Entry points of outbound's two bus consumers, each reading SQS batches (rule → queue → Lambda):

- ``offers_handler`` (``OutboundOfferFunction``): the abandoned-cart journey's ``store_offer.requested`` (the
  ``cart.abandoned`` it started with) becomes an online-to-store decision (and, when a store near the customer has
  the items, a ticket handoff is asked to store, the stock held, and a ``message.requested``); handoff's
  ``handoff.accepted`` of a reserve-in-store ticket ends the stock it held; ``profile.erased`` deletes the
  profile's decisions, offer tickets and messages;
- ``requests_handler`` (``OutboundRequestsFunction``): ``message.requested`` (the offers' own, and a journey
  step's, sent with the text the journey rendered) is sent at once, each message claimed before it is sent so a
  redelivered request never sends twice; ``message.sent`` is announced by the outbound table's stream.

A detail that does not validate is quarantined once; a failure fails only its record. See
``omnichannel.bus_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.cart_events import CartAbandoned
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffAccepted,
    HandoffEventType,
    OutboundMessageRequested,
)
from omnichannel.journey_events import (
    JOURNEYS_SOURCE,
    JourneyEventType,
    JourneyMessageRequested,
    StoreOfferRequested,
)
from omnichannel.profile_events import PROFILES_SOURCE, ProfileErased, ProfileEventType
from outbound import wiring
from outbound.delivery.announce import count_attempts, requested_message
from outbound.observability import logger, metrics, tracer
from outbound.store_offers.holds import release_redeemed

# ---------------------------------------------------------------------------------------------- online to store


def cart_abandoned(abandoned: CartAbandoned) -> str:
    handled = wiring.get_offer_service().handle(abandoned)
    metrics.add_metric(name=f"StoreOffer_{handled.outcome}", unit="Count", value=1)
    logger.info(
        "cart episode decided",
        extra={"outcome": handled.outcome, "duplicate": handled.duplicate, "message_id": handled.message_id},
    )
    return handled.outcome


def ticket_accepted(accepted: HandoffAccepted) -> str:
    """A reserve-in-store ticket was redeemed: the stock it held in the offered store is free again (the sale is
    the store's now). Safe to repeat; a ticket that is not an offer's releases nothing."""
    released = release_redeemed(accepted, wiring.get_offer_tickets(), wiring.get_catalog())
    if released is None:
        return "not_an_offer"
    metrics.add_metric(name="StockHoldsReleased", unit="Count", value=released)
    return "released"


def offers_erased(erased: ProfileErased) -> str:
    store = wiring.get_offer_store()
    deleted = sum(store.erase_profile(pid) for pid in sorted({erased.profile_id, *erased.profile_ids}))
    metrics.add_metric(name="OfferItemsErased", unit="Count", value=deleted)
    return "erased"


offers = BusBatchConsumer(logger, metrics)
offers.route(JOURNEYS_SOURCE, {JourneyEventType.STORE_OFFER_REQUESTED}, StoreOfferRequested, cart_abandoned)
offers.route(HANDOFF_SOURCE, {HandoffEventType.ACCEPTED}, HandoffAccepted, ticket_accepted)
offers.route(PROFILES_SOURCE, {ProfileEventType.ERASED}, ProfileErased, offers_erased)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def offers_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return offers.handle(event, context)


# ---------------------------------------------------------------------------------------------- delivery


def message_requested(request: OutboundMessageRequested) -> str:
    attempt = wiring.get_dispatcher().deliver(requested_message(request))
    count_attempts([attempt])
    return attempt.outcome


requests = BusBatchConsumer(logger, metrics)
requests.route(HANDOFF_SOURCE, {HandoffEventType.MESSAGE_REQUESTED}, OutboundMessageRequested, message_requested)
requests.route(JOURNEYS_SOURCE, {JourneyEventType.MESSAGE_REQUESTED}, JourneyMessageRequested, message_requested)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def requests_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return requests.handle(event, context)
