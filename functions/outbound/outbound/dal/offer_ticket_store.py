"""The store offers' tickets as outbound keeps them, in the outbound table (low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| offer ticket | ``OFFERTICKET#<code>`` | ``TICKET`` | the ticket handoff is asked to store, ``state`` (open, voided) |

Written in the offer's own transaction (``put_write``, conditional on the code being new here). The table's
stream turns a new one into ``ticket.requested`` and one that turns voided into ``ticket.void_requested``
(``outbound.handlers.stream_outbound``). ``profile_id`` / ``profile_sk = OFFERTICKET#...`` put it on
``by_profile`` (erasure); ``expires_at`` (TTL) removes it a week after the ticket ended.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.canonical_event import utc_iso
from omnichannel.dynamodb import condition_failed, ttl_after
from omnichannel.handoff_events import TicketPurpose
from omnichannel.ticket_codes import normalise_code
from outbound.store_offers.offer_ticket import OfferTicket, OfferTicketState

TICKET_SK = "TICKET"
TICKET_PREFIX = "OFFERTICKET#"
KEEP_AFTER_EXPIRY = timedelta(days=7)


def offer_ticket_pk(code: str) -> str:
    return TICKET_PREFIX + code


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def offer_ticket_item(ticket: OfferTicket) -> dict[str, Any]:
    body = {
        "ticket_id": ticket.ticket_id,
        "profile_id": ticket.profile_id,
        "from_channel": ticket.from_channel,
        "to_channel": ticket.to_channel,
        "reason": ticket.reason,
        "note": ticket.note,
        "created_by": ticket.created_by,
        "created_at": utc_iso(ticket.created_at),
        "expires_at": utc_iso(ticket.expires_at),
        "purpose": ticket.purpose.value,
        "store_id": ticket.store_id,
        "cart_snapshot": ticket.cart_snapshot,
    }
    return {
        "pk": _s(offer_ticket_pk(ticket.code)),
        "sk": _s(TICKET_SK),
        "kind": _s("offer_ticket"),
        "code": _s(ticket.code),
        "ticket": _s(json.dumps(body, sort_keys=True)),
        "state": _s(ticket.state.value),
        "store_id": _s(ticket.store_id),
        "profile_id": _s(ticket.profile_id),
        "profile_sk": _s(f"{TICKET_PREFIX}{utc_iso(ticket.created_at)}#{ticket.code}"),
        "expires_at": {"N": str(ttl_after(ticket.expires_at, KEEP_AFTER_EXPIRY))},
    }


def offer_ticket_from_item(item: dict[str, Any]) -> OfferTicket:
    body = json.loads(item["ticket"]["S"])
    return OfferTicket(
        ticket_id=body["ticket_id"],
        code=item["code"]["S"],
        profile_id=body["profile_id"],
        from_channel=body["from_channel"],
        to_channel=body["to_channel"],
        reason=body["reason"],
        note=body.get("note"),
        created_by=body.get("created_by") or "online-to-store",
        created_at=datetime.fromisoformat(body["created_at"].replace("Z", "+00:00")),
        expires_at=datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")),
        purpose=TicketPurpose(body["purpose"]),
        store_id=body["store_id"],
        cart_snapshot=body.get("cart_snapshot") or {},
        state=OfferTicketState(item["state"]["S"]),
        void_reason=item.get("void_reason", {}).get("S"),
    )


class OfferTicketStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put_write(self, ticket: OfferTicket) -> dict[str, Any]:
        """The transaction item that keeps the ticket with its offer (the offer store raises ``TicketCodeTaken``
        when the code is already here)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": offer_ticket_item(ticket),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def get(self, code: str, at: datetime | None = None) -> OfferTicket | None:
        normalised = normalise_code(code)
        if normalised is None:
            return None
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _s(offer_ticket_pk(normalised)), "sk": _s(TICKET_SK)},
            ConsistentRead=True,
        ).get("Item")
        return offer_ticket_from_item(item) if item else None

    def void(self, code: str, at: datetime, reason: str = "cancelled") -> bool:
        """The offer was cancelled before it went out: the ticket turns voided (the stream asks handoff to void
        it). False when it is unknown or voided already: safe to repeat."""
        normalised = normalise_code(code)
        if normalised is None:
            return False
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(offer_ticket_pk(normalised)), "sk": _s(TICKET_SK)},
                UpdateExpression="SET #state = :voided, voided_at = :at, void_reason = :reason",
                ConditionExpression="attribute_exists(pk) AND #state = :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":voided": _s(OfferTicketState.VOIDED.value),
                    ":open": _s(OfferTicketState.OPEN.value),
                    ":at": _s(utc_iso(at)),
                    ":reason": _s(reason),
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
