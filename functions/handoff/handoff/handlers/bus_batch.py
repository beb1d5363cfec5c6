"""Entry points of handoff's three bus consumers, each reading SQS batches (rule → queue → Lambda):

- ``conversations_handler`` (``HandoffEventsFunction``): captured messages, calls and store visits fold into
  conversations; a journey's ``agent_task.requested`` opens a task on the customer (once per task id); profile
  events link, re-home, restore or erase them (a merge moves tasks to the survivor; erasure deletes handoff
  tickets and tasks too);
- ``offers_handler`` (``HandoffOfferFunction``): the abandoned-cart journey's ``store_offer.requested`` (the
  ``cart.abandoned`` it started with) becomes an online-to-store decision (and, when a
  store near the customer has the items, a ticket and a ``message.requested``); ``profile.erased`` deletes the
  profile's decisions and messages;
- ``requests_handler`` (``HandoffDeliveryRequestsFunction``): ``message.requested`` (handoff's own, and a journey
  step's, sent with the text the journey rendered) is sent at once, each message
  claimed before it is sent so a redelivered request never sends twice; ``message.sent`` is announced.

An event that cannot be a conversation is skipped; a detail that does not validate is quarantined once; a write
that keeps losing races fails only its record. See ``omnichannel.bus_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff import outbound_wiring, wiring
from handoff.logic.agent_tasks import task_from_request
from handoff.logic.conversations import NotAConversationEvent
from handoff.observability import logger, metrics, tracer
from handoff.outbound.announce import count_attempts, requested_message
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.cart_events import CartAbandoned
from omnichannel.handoff_events import HANDOFF_SOURCE, HandoffEventType, OutboundMessageRequested
from omnichannel.journey_events import (
    JOURNEYS_SOURCE,
    AgentTaskRequested,
    JourneyEventType,
    JourneyMessageRequested,
    StoreOfferRequested,
)
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileErased,
    ProfileEventType,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
)

# ---------------------------------------------------------------------------------------------- conversations


def conversation_touchpoint(event: CanonicalEvent) -> str:
    applied = wiring.get_conversations().apply(event)
    metrics.add_metric(name=f"Conversation{applied.outcome.title()}", unit="Count", value=1)
    return applied.outcome


def profile_erased(erased: ProfileErased) -> str:
    deleted = wiring.get_conversations().profile_erased(erased)
    tickets = wiring.get_tickets()
    deleted_tickets = sum(
        tickets.delete_of_profile(profile_id) for profile_id in sorted({erased.profile_id, *erased.profile_ids})
    )
    deleted_tasks = sum(
        wiring.get_tasks().delete_of_profile(profile_id)
        for profile_id in sorted({erased.profile_id, *erased.profile_ids})
    )
    metrics.add_metric(name="AgentTasksErased", unit="Count", value=deleted_tasks)
    metrics.add_metric(name="ConversationsErased", unit="Count", value=deleted)
    metrics.add_metric(name="TicketsErased", unit="Count", value=deleted_tickets)
    return "erased"


def agent_task_requested(request: AgentTaskRequested) -> str:
    opened = wiring.get_tasks().open(task_from_request(request), int(wiring.now().timestamp()))
    metrics.add_metric(name="AgentTasksOpened" if opened else "AgentTasksKnown", unit="Count", value=1)
    return "opened" if opened else "known"


def profile_merged(merged: ProfileMerged) -> str:
    tasks = wiring.get_tasks()
    for task in tasks.of_profile(merged.merged_id, limit=100):
        tasks.rehome(task, merged.survivor_id)
    wiring.get_conversations().profile_merged(merged)
    return "merged"


conversations = BusBatchConsumer(logger, metrics, skip=(NotAConversationEvent,))
conversations.route(
    CAPTURE_SOURCE,
    ("Message Received", "Call Started", "Call Completed", "Store Visited"),
    CanonicalEvent,
    conversation_touchpoint,
)
conversations.route(
    PROFILES_SOURCE,
    {ProfileEventType.CREATED},
    ProfileCreated,
    lambda event: wiring.get_conversations().profile_created(event),
)
conversations.route(
    PROFILES_SOURCE,
    {ProfileEventType.UPDATED},
    ProfileUpdated,
    lambda event: wiring.get_conversations().profile_updated(event),
)
conversations.route(PROFILES_SOURCE, {ProfileEventType.MERGED}, ProfileMerged, profile_merged)
conversations.route(
    PROFILES_SOURCE,
    {ProfileEventType.UNMERGED},
    ProfileUnmerged,
    lambda event: wiring.get_conversations().profile_unmerged(event),
)
conversations.route(PROFILES_SOURCE, {ProfileEventType.ERASED}, ProfileErased, profile_erased)
conversations.route(JOURNEYS_SOURCE, {JourneyEventType.AGENT_TASK_REQUESTED}, AgentTaskRequested, agent_task_requested)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def conversations_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return conversations.handle(event, context)


# ---------------------------------------------------------------------------------------------- online to store


def cart_abandoned(abandoned: CartAbandoned) -> str:
    handled = outbound_wiring.get_offer_service().handle(abandoned)
    metrics.add_metric(name=f"StoreOffer_{handled.outcome}", unit="Count", value=1)
    logger.info(
        "cart episode decided",
        extra={"outcome": handled.outcome, "duplicate": handled.duplicate, "message_id": handled.message_id},
    )
    return handled.outcome


def offers_erased(erased: ProfileErased) -> str:
    store = outbound_wiring.get_offer_store()
    deleted = sum(store.erase_profile(pid) for pid in sorted({erased.profile_id, *erased.profile_ids}))
    metrics.add_metric(name="OfferItemsErased", unit="Count", value=deleted)
    return "erased"


offers = BusBatchConsumer(logger, metrics)
offers.route(JOURNEYS_SOURCE, {JourneyEventType.STORE_OFFER_REQUESTED}, StoreOfferRequested, cart_abandoned)
offers.route(PROFILES_SOURCE, {ProfileEventType.ERASED}, ProfileErased, offers_erased)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def offers_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return offers.handle(event, context)


# ---------------------------------------------------------------------------------------------- delivery


def message_requested(request: OutboundMessageRequested) -> str:
    attempt = outbound_wiring.get_dispatcher().deliver(requested_message(request))
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
