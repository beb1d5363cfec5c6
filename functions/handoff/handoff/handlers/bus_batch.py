"""Entry point of handoff's bus consumer, reading SQS batches (rule → queue → Lambda):

``conversations_handler`` (``HandoffEventsFunction``): captured messages, calls and store visits fold into
conversations; a journey's ``agent_task.requested`` opens a task on the customer (once per task id); outbound's
``ticket.requested`` stores a store offer's ticket under the code the offer's message carries (once per ticket id)
and ``ticket.void_requested`` voids it when the offer was cancelled before it went out; profile events link,
re-home, restore or erase them (a merge moves tasks to the survivor; erasure deletes handoff tickets and tasks too).


An event that cannot be a conversation is skipped; a detail that does not validate is quarantined once; a write
that keeps losing races fails only its record. See ``omnichannel.bus_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff import wiring
from handoff.logic.agent_tasks import task_from_request
from handoff.logic.conversations import NotAConversationEvent
from handoff.logic.tickets import ticket_from_request
from handoff.observability import logger, metrics, tracer
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.journey_events import (
    JOURNEYS_SOURCE,
    AgentTaskRequested,
    JourneyEventType,
)
from omnichannel.outbound_events import OUTBOUND_SOURCE, OutboundEventType, TicketRequested, TicketVoidRequested
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


def ticket_requested(request: TicketRequested) -> str:
    stored = wiring.get_tickets().store_requested(ticket_from_request(request))
    outcome = {True: "stored", False: "known", None: "code_taken"}[stored]
    metrics.add_metric(name=f"OfferTickets_{outcome}", unit="Count", value=1)
    if stored is None:
        logger.error("a store offer's code belongs to another ticket", extra={"ticket_id": request.ticket_id})
    return outcome


def ticket_void_requested(request: TicketVoidRequested) -> str:
    voided = wiring.get_tickets().void(request.code, wiring.now())
    metrics.add_metric(name="OfferTicketsVoided" if voided else "OfferTicketsNotOpen", unit="Count", value=1)
    return "voided" if voided else "not_open"


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
conversations.route(OUTBOUND_SOURCE, {OutboundEventType.TICKET_REQUESTED}, TicketRequested, ticket_requested)
conversations.route(
    OUTBOUND_SOURCE, {OutboundEventType.TICKET_VOID_REQUESTED}, TicketVoidRequested, ticket_void_requested
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def conversations_handler(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return conversations.handle(event, context)
