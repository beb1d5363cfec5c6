"""Bus entry point of online to store: ``cart.abandoned`` (source ``omnichannel.carts``) becomes a decision
(``handoff.logic.offer_service``) and, when a store near the customer has the items, a reserve-in-store ticket
and a ``message.requested``; ``profile.erased`` deletes the profile's decisions and messages.

One EventBridge event per invocation. An unreadable detail is logged and dropped (retrying would not help);
anything else that fails raises, so Lambda retries and the dead-letter queue finally keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from handoff import outbound_wiring
from handoff.observability import logger, metrics, tracer
from omnichannel.cart_events import CARTS_SOURCE, CartAbandoned, CartEventType
from omnichannel.profile_events import PROFILES_SOURCE, ProfileErased, ProfileEventType


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = event.get("source")
    detail_type = str(event.get("detail-type") or "")
    detail = event.get("detail") or {}
    logger.append_keys(source=source, detail_type=detail_type, event_id=detail.get("event_id"))
    try:
        if source == CARTS_SOURCE and detail_type == CartEventType.ABANDONED:
            abandoned = CartAbandoned.model_validate(detail)
            handled = outbound_wiring.get_offer_service().handle(abandoned)
            metrics.add_metric(name=f"StoreOffer_{handled.outcome}", unit="Count", value=1)
            logger.info(
                "cart episode decided",
                extra={"outcome": handled.outcome, "duplicate": handled.duplicate, "message_id": handled.message_id},
            )
            return {
                "outcome": handled.outcome,
                "reason": handled.reason,
                "duplicate": handled.duplicate,
                "message_id": handled.message_id,
            }
        if source == PROFILES_SOURCE and detail_type == ProfileEventType.ERASED:
            erased = ProfileErased.model_validate(detail)
            store = outbound_wiring.get_offer_store()
            deleted = sum(store.erase_profile(pid) for pid in sorted({erased.profile_id, *erased.profile_ids}))
            metrics.add_metric(name="OfferItemsErased", unit="Count", value=deleted)
            return {"outcome": "erased", "items": deleted}
    except ValidationError as error:
        metrics.add_metric(name="OfferEventsDropped", unit="Count", value=1)
        logger.warning("event dropped", extra={"reason": type(error).__name__})
        return {"outcome": "dropped"}
    logger.warning("event dropped", extra={"reason": "not for online to store"})
    return {"outcome": "dropped"}
