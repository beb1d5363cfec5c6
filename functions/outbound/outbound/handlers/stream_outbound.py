"""DynamoDB stream entry point of outbound: the outbound table is the outbox of what its writes mean.

- an outbox message item that turns sent announces ``message.sent`` (source ``omnichannel.handoff``, as before
  the move: the public contract); one that turns failed or cancelled announces ``message.failed`` (same source,
  ``state`` failed | cancelled, a short ``error_code``): every message's end is announced, once;
- a new offer ticket item asks handoff for the ticket (``ticket.requested``); one that turns voided asks handoff
  to void it (``ticket.void_requested``), both under ``omnichannel.outbound``.

Event ids derive from the message and the ticket, so a record published twice announces the same ids. The shell
(retry from the first refused record, dead-letter what the bus refuses for good) is ``omnichannel.stream_outbox``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel.event_bus import BusEvent
from omnichannel.stream_outbox import publish_stream_batch
from outbound import wiring
from outbound.dal.offer_ticket_store import TICKET_SK, offer_ticket_from_item
from outbound.dal.outbox_store import OUTBOX_SK, message_from_item
from outbound.delivery.announce import failed_event, sent_event
from outbound.delivery.message import DeliveryState
from outbound.observability import logger, metrics, tracer
from outbound.store_offers.offer_ticket import OfferTicketState, requested_event, void_requested_event


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    return str(value["S"]) if value else None


_UNSENT_ENDS = frozenset({DeliveryState.FAILED.value, DeliveryState.CANCELLED.value})


def announced(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[BusEvent]:
    kind = _text(new, "sk")
    state, was = _text(new, "state"), _text(old, "state")
    if kind == OUTBOX_SK and state != was:
        if state == DeliveryState.SENT.value:
            return [sent_event(message_from_item(dict(new)))]
        if state in _UNSENT_ENDS:
            return [failed_event(message_from_item(dict(new)))]
    if kind == TICKET_SK:
        if not old:
            return [requested_event(offer_ticket_from_item(dict(new)))]
        if state == OfferTicketState.VOIDED.value and was != OfferTicketState.VOIDED.value:
            voided_at = _text(new, "voided_at")
            at = datetime.fromisoformat(voided_at.replace("Z", "+00:00")) if voided_at else wiring.now()
            return [void_requested_event(offer_ticket_from_item(dict(new)), at)]
    return []


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish_stream_batch(
        event.get("Records", []), wiring.get_publisher(), announced, logger=logger, metrics=metrics
    )
