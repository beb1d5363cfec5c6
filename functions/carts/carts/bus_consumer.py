"""Bus entry point of the carts function: captured e-commerce events and profile events.

One EventBridge event per invocation (rule → Lambda, asynchronous). An event that cannot change a cart (no
identifier, no product, unreadable detail) is logged and dropped: retrying would not help. Anything else that
fails raises, so Lambda retries and finally the rule's dead-letter queue keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from carts import wiring
from carts.logic.commerce_events import CART_EVENTS, UnusableEvent, apply_event
from carts.logic.profile_sync import ProfileSync, SyncResult
from carts.observability import logger, metrics, tracer
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


class AnnouncementFailed(RuntimeError):
    """The change is stored but an event about it could not be published: the retry publishes it again."""


def _commerce(detail: dict[str, Any]) -> str:
    event = CanonicalEvent.model_validate(detail)
    if event.name not in CART_EVENTS:
        raise UnusableEvent(f"{event.name!r} is not a cart event")
    result = apply_event(wiring.get_service(), event)
    metrics.add_metric(name=f"CartEvents{result.outcome.title()}", unit="Count", value=1)
    if result.recovery_unannounced:
        raise AnnouncementFailed("cart.recovered could not be published")
    if result.failed:
        logger.warning("cart.updated not published", extra={"failed": len(result.failed)})
    return result.outcome


def _profile(detail_type: str, detail: dict[str, Any]) -> SyncResult:
    sync = ProfileSync(wiring.get_service())
    match detail_type:
        case ProfileEventType.CREATED:
            return sync.created(ProfileCreated.model_validate(detail))
        case ProfileEventType.UPDATED:
            return sync.updated(ProfileUpdated.model_validate(detail))
        case ProfileEventType.MERGED:
            return sync.merged(ProfileMerged.model_validate(detail))
        case ProfileEventType.UNMERGED:
            return sync.unmerged(ProfileUnmerged.model_validate(detail))
        case ProfileEventType.ERASED:
            return sync.erased(ProfileErased.model_validate(detail))
    raise UnusableEvent(f"{detail_type!r} is not a profile event carts follows")


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
            return {"outcome": _commerce(detail)}
        if source == PROFILES_SOURCE:
            result = _profile(detail_type, detail)
            metrics.add_metric(name="CartsMerged", unit="Count", value=len(result.merged))
            return {"outcome": "synced", "merged": len(result.merged), "deleted": result.deleted}
        raise UnusableEvent(f"events of {source!r} are not for carts")
    except (UnusableEvent, ValidationError) as error:
        metrics.add_metric(name="CartEventsDropped", unit="Count", value=1)
        logger.warning("event dropped", extra={"reason": type(error).__name__})
        return {"outcome": "dropped"}
