"""DynamoDB stream entry point of handoff: the handoff table is the outbox of what its writes mean.

a new ticket item announces ``handoff.created``; a ticket item that turns redeemed, ``handoff.accepted``.
(``message.sent`` is the outbound table's: ``outbound.handlers.stream_outbound``.)

Event ids derive from the ticket, so a record published twice announces the same ids. The shell
(retry from the first refused record, dead-letter what the bus refuses for good) is ``omnichannel.stream_outbox``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff import wiring
from handoff.dal.ticket_store import TICKET_SK, ticket_from_item
from handoff.logic.handoff_service import accepted_event, created_event
from handoff.logic.tickets import TicketState
from handoff.observability import logger, metrics, tracer
from omnichannel.event_bus import BusEvent
from omnichannel.stream_outbox import publish_stream_batch


def _state(image: Mapping[str, Any]) -> str | None:
    value = image.get("state")
    return str(value["S"]) if value else None


def announced(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[BusEvent]:
    kind = new.get("sk", {}).get("S")
    if kind == TICKET_SK:
        if not old:
            return [created_event(ticket_from_item(dict(new)))]
        if _state(new) == TicketState.REDEEMED.value and _state(old) != TicketState.REDEEMED.value:
            return [accepted_event(ticket_from_item(dict(new)))]
    return []


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish_stream_batch(
        event.get("Records", []), wiring.get_publisher(), announced, logger=logger, metrics=metrics
    )
