"""Bus entry point of the handoff function: captured conversation touchpoints and profile events (erasure deletes
the customer's conversations and handoff tickets).

One EventBridge event per invocation (rule → Lambda, asynchronous). An event that cannot be a conversation (no
identifier, unreadable detail) is logged and dropped: retrying would not help. Anything else that fails raises,
so Lambda retries and finally the dead-letter queue keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from handoff import wiring
from handoff.logic.conversations import NotAConversationEvent
from handoff.observability import logger, metrics, tracer
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


def _profile(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    service = wiring.get_conversations()
    match detail_type:
        case ProfileEventType.CREATED:
            return {
                "outcome": "linked",
                "conversations": service.profile_created(ProfileCreated.model_validate(detail)),
            }
        case ProfileEventType.UPDATED:
            return {
                "outcome": "linked",
                "conversations": service.profile_updated(ProfileUpdated.model_validate(detail)),
            }
        case ProfileEventType.MERGED:
            return {"outcome": "rehomed", "conversations": service.profile_merged(ProfileMerged.model_validate(detail))}
        case ProfileEventType.UNMERGED:
            restored = service.profile_unmerged(ProfileUnmerged.model_validate(detail))
            return {"outcome": "linked", "conversations": restored}
        case ProfileEventType.ERASED:
            erased = ProfileErased.model_validate(detail)
            deleted = service.profile_erased(erased)
            tickets = wiring.get_tickets()
            deleted_tickets = sum(
                tickets.delete_of_profile(profile_id) for profile_id in sorted({erased.profile_id, *erased.profile_ids})
            )
            metrics.add_metric(name="ConversationsErased", unit="Count", value=deleted)
            metrics.add_metric(name="TicketsErased", unit="Count", value=deleted_tickets)
            return {"outcome": "erased", "conversations": deleted, "tickets": deleted_tickets}
    raise NotAConversationEvent(f"{detail_type!r} is not a profile event handoff follows")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = event.get("source")
    detail_type = str(event.get("detail-type") or "")
    detail = event.get("detail") or {}
    logger.append_keys(source=source, detail_type=detail_type, event_id=detail.get("event_id"))
    try:
        if source == CAPTURE_SOURCE:
            applied = wiring.get_conversations().apply(CanonicalEvent.model_validate(detail))
            metrics.add_metric(name=f"Conversation{applied.outcome.title()}", unit="Count", value=1)
            return {"outcome": applied.outcome, "conversation_id": applied.conversation.conversation_id}
        if source == PROFILES_SOURCE:
            return _profile(detail_type, detail)
        raise NotAConversationEvent(f"events of {source!r} are not for handoff")
    except (NotAConversationEvent, ValidationError) as error:
        metrics.add_metric(name="ConversationEventsDropped", unit="Count", value=1)
        logger.warning("event dropped", extra={"reason": type(error).__name__})
        return {"outcome": "dropped"}
