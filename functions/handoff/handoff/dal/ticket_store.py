"""Handoff tickets in the handoff table (all DynamoDB access for them; low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| ticket | ``TICKET#<code>`` | ``TICKET`` | the ticket; ``valid_until`` (ISO) is its expiry, checked on read |

Tickets carry ``profile_id`` / ``profile_sk = TICKET#<created_at>`` so a profile's tickets are one Query on the
sparse ``by_profile`` GSI (beside its conversations, ``CONV#...``). ``expires_at`` is the TTL attribute (epoch
seconds): DynamoDB removes a ticket ``KEEP_AFTER_EXPIRY`` after it stopped being valid.

Redemption is one conditional UpdateItem (open and not expired), so two clerks typing the same code at once
cannot both redeem it. Voiding (an offer cancelled before it was sent) is one conditional UpdateItem too (open).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from handoff.logic.tickets import (
    Ticket,
    TicketAlreadyUsed,
    TicketNotFound,
    TicketState,
    new_code,
    normalise_code,
)
from omnichannel import aws_clients
from omnichannel.canonical_event import utc_iso
from omnichannel.dynamodb import condition_failed, ttl_after

TICKET_SK = "TICKET"
TICKET_PREFIX = "TICKET#"
BY_PROFILE = "by_profile"
KEEP_AFTER_EXPIRY = timedelta(days=7)
CREATE_ATTEMPTS = 5


class CodeSpaceExhausted(RuntimeError):
    """Every fresh code collided: practically impossible with 32**8 codes, so something is wrong."""


def ticket_pk(code: str) -> str:
    return TICKET_PREFIX + code


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _s(ticket_pk(ticket.code)),
        "sk": _s(TICKET_SK),
        "kind": _s("ticket"),
        "ticket_id": _s(ticket.ticket_id),
        "code": _s(ticket.code),
        "profile_id": _s(ticket.profile_id),
        "profile_sk": _s(TICKET_PREFIX + utc_iso(ticket.created_at)),
        "from_channel": _s(ticket.from_channel),
        "to_channel": _s(ticket.to_channel),
        "reason": _s(ticket.reason),
        "created_at": _s(utc_iso(ticket.created_at)),
        "valid_until": _s(utc_iso(ticket.expires_at)),
        "state": _s(ticket.state.value),
        "purpose": _s(ticket.purpose.value),
        "expires_at": {"N": str(ttl_after(ticket.expires_at, KEEP_AFTER_EXPIRY))},
    }
    optional: dict[str, str | None] = {
        "note": ticket.note,
        "created_by": ticket.created_by,
        "redeemed_by": ticket.redeemed_by,
        "redeemed_at": utc_iso(ticket.redeemed_at) if ticket.redeemed_at else None,
        "redeemed_channel": ticket.redeemed_channel,
        "redeemed_store_id": ticket.redeemed_store_id,
        "deep_link": ticket.deep_link,
        "store_id": ticket.store_id,
        "cart_snapshot": json.dumps(ticket.cart_snapshot, default=str) if ticket.cart_snapshot is not None else None,
    }
    item.update({name: _s(value) for name, value in optional.items() if value})
    return item


def ticket_from_item(item: dict[str, Any]) -> Ticket:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    redeemed_at = text("redeemed_at")
    snapshot = text("cart_snapshot")
    return Ticket.model_validate(
        {
            "ticket_id": item["ticket_id"]["S"],
            "code": item["code"]["S"],
            "profile_id": item["profile_id"]["S"],
            "from_channel": item["from_channel"]["S"],
            "to_channel": item["to_channel"]["S"],
            "reason": item["reason"]["S"],
            "note": text("note"),
            "created_by": text("created_by"),
            "created_at": _time(item["created_at"]["S"]),
            "expires_at": _time(item["valid_until"]["S"]),
            "state": item["state"]["S"],
            "redeemed_by": text("redeemed_by"),
            "redeemed_at": _time(redeemed_at) if redeemed_at else None,
            "redeemed_channel": text("redeemed_channel"),
            "redeemed_store_id": text("redeemed_store_id"),
            "deep_link": text("deep_link"),
            "purpose": item["purpose"]["S"],
            "store_id": text("store_id"),
            "cart_snapshot": json.loads(snapshot) if snapshot else None,
        }
    )


class TicketStore:
    """``TicketStore(table_name, client)``: ``client`` is a boto3 DynamoDB client (the shared one by default);
    ``clock`` says what "now" is when a read decides whether an open ticket has expired."""

    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        codes: Callable[[], str] = new_code,
    ) -> None:
        self._client = client if client is not None else aws_clients.dynamodb()
        self._table = table
        self._clock = clock
        self._codes = codes

    def create(self, ticket: Ticket) -> Ticket:
        """Store a new ticket; on a code collision the ticket gets a fresh code (and deep link) and is tried again.
        Returns the ticket as stored (its code may differ from the one given)."""
        candidate = ticket
        for _ in range(CREATE_ATTEMPTS):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=ticket_item(candidate),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                if not condition_failed(error):
                    raise
                candidate = candidate.with_code(self._codes())
                continue
            return candidate
        raise CodeSpaceExhausted(f"{CREATE_ATTEMPTS} fresh codes all collided")

    def store_requested(self, ticket: Ticket) -> bool | None:
        """Store a ticket another function asked for under the code it drew (a store offer's message carries it):
        True when stored now, False when this very ticket (same ``ticket_id``) is there already (a redelivered
        request), None when the code belongs to another ticket (a collision of two random 40-bit codes: nothing is
        stored; the offer's code does not redeem)."""
        try:
            self._client.put_item(
                TableName=self._table, Item=ticket_item(ticket), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            current = self._load(ticket.code)
            return False if current is not None and current.ticket_id == ticket.ticket_id else None
        return True

    def _load(self, code: str) -> Ticket | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(ticket_pk(code)), "sk": _s(TICKET_SK)}, ConsistentRead=True
        ).get("Item")
        return ticket_from_item(item) if item else None

    def get(self, code: str, at: datetime | None = None) -> Ticket | None:
        """The ticket of a code as typed (normalised here), as it reads at ``at`` (default now); None if unknown."""
        normalised = normalise_code(code)
        if normalised is None:
            return None
        ticket = self._load(normalised)
        return ticket.as_of(at or self._clock()) if ticket else None

    def redeem(
        self,
        code: str,
        by: str,
        at: datetime,
        *,
        channel: str | None = None,
        store_id: str | None = None,
    ) -> Ticket:
        """Mark the ticket redeemed, once. Raises ``TicketNotFound``, ``TicketExpired`` or ``TicketAlreadyUsed``."""
        normalised = normalise_code(code)
        if normalised is None:
            raise TicketNotFound("not a ticket code")
        values: dict[str, Any] = {
            ":open": _s(TicketState.OPEN.value),
            ":redeemed": _s(TicketState.REDEEMED.value),
            ":by": _s(by),
            ":at": _s(utc_iso(at)),
        }
        sets = ["#state = :redeemed", "redeemed_by = :by", "redeemed_at = :at"]
        if channel:
            sets.append("redeemed_channel = :channel")
            values[":channel"] = _s(channel)
        if store_id:
            sets.append("redeemed_store_id = :store")
            values[":store"] = _s(store_id)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(ticket_pk(normalised)), "sk": _s(TICKET_SK)},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND #state = :open AND valid_until > :at",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            current = self._load(normalised)
            if current is None:
                raise TicketNotFound("no such ticket") from error
            current.check_redeemable(at)
            raise TicketAlreadyUsed("the ticket changed while it was redeemed") from error
        return ticket_from_item(response["Attributes"])

    def void(self, code: str, at: datetime) -> bool:
        """Void an open ticket (it can no longer be redeemed); False when it is unknown or not open (already voided,
        redeemed): safe to repeat."""
        normalised = normalise_code(code)
        if normalised is None:
            return False
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(ticket_pk(normalised)), "sk": _s(TICKET_SK)},
                UpdateExpression="SET #state = :voided, voided_at = :at",
                ConditionExpression="attribute_exists(pk) AND #state = :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":voided": _s(TicketState.VOIDED.value),
                    ":open": _s(TicketState.OPEN.value),
                    ":at": _s(utc_iso(at)),
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def of_profile(self, profile_id: str, limit: int | None = None) -> list[Ticket]:
        """The profile's tickets, newest first (at most ``limit``), each as it reads now."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_PROFILE,
            "KeyConditionExpression": "profile_id = :id AND begins_with(profile_sk, :ticket)",
            "ExpressionAttributeValues": {":id": _s(profile_id), ":ticket": _s(TICKET_PREFIX)},
            "ScanIndexForward": False,
        }
        if limit is not None:
            request["Limit"] = limit
        tickets: list[Ticket] = []
        now = self._clock()
        while True:
            response = self._client.query(**request)
            tickets.extend(ticket_from_item(item).as_of(now) for item in response.get("Items", []))
            if (limit is not None and len(tickets) >= limit) or not response.get("LastEvaluatedKey"):
                return tickets[:limit] if limit is not None else tickets
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def delete_of_profile(self, profile_id: str) -> int:
        """Delete every ticket of the profile (erasure); returns how many. Safe to repeat."""
        tickets = self.of_profile(profile_id)
        for ticket in tickets:
            self._client.delete_item(TableName=self._table, Key={"pk": _s(ticket_pk(ticket.code)), "sk": _s(TICKET_SK)})
        return len(tickets)
