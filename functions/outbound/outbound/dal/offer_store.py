"""Online-to-store decisions and the per-profile frequency cap in the outbound table (low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| decision | ``OFFER#<cart_id>#<episode>`` | ``OFFER`` | outcome, reason, store, channel, message id, ticket code |
| cap | ``OFFERCAP#<profile_id>`` | ``CAP`` | when the profile's recent offers were made, ``rev`` |

A decision that sends is written in one transaction with the cap (conditional on its ``rev``) and the outbox
message (``outbound.dal.outbox_store``): an offer is recorded, counted and queued together or not at all. The
decision item is conditional on its absence, so a redelivered ``cart.abandoned`` (same cart and episode)
decides nothing twice. Decisions and caps carry ``profile_id`` / ``profile_sk`` for ``by_profile`` (erasure).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.canonical_event import utc_iso
from omnichannel.dynamodb import cancellation_codes, condition_failed
from outbound.dal.outbox_store import outbox_item
from outbound.delivery.message import OutboundMessage
from outbound.store_offers.offer_record import CANCELLED, Cap, OfferRecord

OFFER_SK = "OFFER"
CAP_SK = "CAP"
PROFILE_SK_PREFIX = "OFFER#"


class CapChanged(RuntimeError):
    """Another offer to the same profile was recorded meanwhile: decide again."""


class HoldsChanged(CapChanged):
    """Another offer held stock in the same store meanwhile: decide again (with what is left)."""


class TicketCodeTaken(CapChanged):
    """The code drawn for the offer's ticket is another offer ticket's: draw another and decide again."""


def offer_pk(cart_id: str, episode: int) -> str:
    return f"OFFER#{cart_id}#{episode}"


def cap_pk(profile_id: str) -> str:
    return f"OFFERCAP#{profile_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def offer_item(record: OfferRecord, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _s(offer_pk(record.cart_id, record.episode)),
        "sk": _s(OFFER_SK),
        "kind": _s("offer"),
        "cart_id": _s(record.cart_id),
        "episode": {"N": str(record.episode)},
        "event_id": _s(record.event_id),
        "decided_at": _s(record.decided_at),
        "outcome": _s(record.outcome),
        "reason": _s(record.reason),
        "published": {"BOOL": record.published},
        "expires_at": {"N": str(expires_at)},
    }
    optional = {
        "profile_id": record.profile_id,
        "channel": record.channel,
        "store_id": record.store_id,
        "send_at": record.send_at,
        "message_id": record.message_id,
        "ticket_code": record.ticket_code,
    }
    item.update({name: _s(value) for name, value in optional.items() if value})
    if record.distance_km is not None:
        item["distance_km"] = {"N": str(record.distance_km)}
    if record.profile_id:
        item["profile_sk"] = _s(f"{PROFILE_SK_PREFIX}{record.decided_at}#{record.cart_id}#{record.episode}")
    return item


def offer_from_item(item: dict[str, Any]) -> OfferRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    return OfferRecord(
        cart_id=item["cart_id"]["S"],
        episode=int(item["episode"]["N"]),
        event_id=item["event_id"]["S"],
        decided_at=item["decided_at"]["S"],
        outcome=item["outcome"]["S"],
        reason=item["reason"]["S"],
        profile_id=text("profile_id"),
        channel=text("channel"),
        store_id=text("store_id"),
        distance_km=float(item["distance_km"]["N"]) if "distance_km" in item else None,
        send_at=text("send_at"),
        message_id=text("message_id"),
        ticket_code=text("ticket_code"),
        published=bool(item.get("published", {}).get("BOOL", False)),
        cancelled_at=text("cancelled_at"),
    )


class OfferStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, cart_id: str, episode: int) -> OfferRecord | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _s(offer_pk(cart_id, episode)), "sk": _s(OFFER_SK)},
            ConsistentRead=True,
        ).get("Item")
        return offer_from_item(item) if item else None

    def cap(self, profile_id: str) -> Cap:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(cap_pk(profile_id)), "sk": _s(CAP_SK)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return Cap()
        return Cap(tuple(json.loads(item["offered_at"]["S"])), int(item["rev"]["N"]), True)

    def record(
        self,
        record: OfferRecord,
        expires_at: int,
        *,
        cap: Cap | None = None,
        keep_since: datetime | None = None,
        message: OutboundMessage | None = None,
        ticket: dict[str, Any] | None = None,
        holds: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Write the decision (with the cap, the message, the offer's ticket and the stock it holds when it sends).
        False: this cart episode was decided already (nothing written). Raises ``CapChanged`` when the cap moved
        since it was read, ``HoldsChanged`` when the store's holds did (``holds`` starts with the conditional
        revision write), ``TicketCodeTaken`` when the ticket's code is another's (``ticket``: a conditional Put)."""
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": offer_item(record, expires_at),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if cap is not None and record.profile_id:
            since = utc_iso(keep_since) if keep_since else ""
            kept = sorted([at for at in cap.offered_at if at > since] + [record.decided_at])
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": {
                    "pk": _s(cap_pk(record.profile_id)),
                    "sk": _s(CAP_SK),
                    "kind": _s("offer_cap"),
                    "profile_id": _s(record.profile_id),
                    "profile_sk": _s("OFFERCAP"),
                    "offered_at": _s(json.dumps(kept)),
                    "rev": {"N": str(cap.rev + 1)},
                    "expires_at": {"N": str(expires_at)},
                },
            }
            if cap.exists:
                put["ConditionExpression"] = "rev = :rev"
                put["ExpressionAttributeValues"] = {":rev": {"N": str(cap.rev)}}
            else:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            writes.append({"Put": put})
        if message is not None:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": outbox_item(message, expires_at),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        cap_at = 1 if cap is not None and record.profile_id else None
        ticket_at = None
        if ticket is not None:
            ticket_at = len(writes)
            writes.append(ticket)
        holds_at = len(writes)
        writes.extend(holds)
        try:
            if len(writes) == 1:
                self._client.put_item(**writes[0]["Put"])
            else:
                self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            codes = cancellation_codes(error)
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            if codes[:1] == ["ConditionalCheckFailed"]:
                return False
            if holds and len(codes) > holds_at and codes[holds_at] == "ConditionalCheckFailed":
                raise HoldsChanged("the store's stock holds changed since they were read") from error
            if ticket_at is not None and len(codes) > ticket_at and codes[ticket_at] == "ConditionalCheckFailed":
                raise TicketCodeTaken("the ticket's code belongs to another offer ticket") from error
            if cap_at is not None and len(codes) > cap_at and codes[cap_at] == "ConditionalCheckFailed":
                raise CapChanged("the profile's offer cap changed since it was read") from error
            raise
        return True

    def mark_published(self, cart_id: str, episode: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": _s(offer_pk(cart_id, episode)), "sk": _s(OFFER_SK)},
            UpdateExpression="SET published = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def mark_cancelled(self, cart_id: str, episode: int, message_id: str, reason: str, at: str) -> bool:
        """The decision's message was cancelled at send time: ``outcome = cancelled`` with the reason. Only the
        decision that queued that message; the first cancellation stands (a repeat changes nothing)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(offer_pk(cart_id, episode)), "sk": _s(OFFER_SK)},
                UpdateExpression="SET outcome = :cancelled, reason = :reason, cancelled_at = :at",
                ConditionExpression="message_id = :message AND outcome <> :cancelled",
                ExpressionAttributeValues={
                    ":cancelled": _s(CANCELLED),
                    ":reason": _s(reason),
                    ":at": _s(at),
                    ":message": _s(message_id),
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def erase_profile(self, profile_id: str) -> int:
        """Delete the profile's decisions, offer cap, offer tickets (``OFFER...``) and outbox messages (found on
        ``by_profile``)."""
        deleted = 0
        for prefix in ("OFFER", "OUTBOX#"):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "by_profile",
                "KeyConditionExpression": "profile_id = :id AND begins_with(profile_sk, :prefix)",
                "ExpressionAttributeValues": {":id": _s(profile_id), ":prefix": _s(prefix)},
                "ProjectionExpression": "pk, sk",
            }
            while True:
                response = self._client.query(**request)
                for item in response.get("Items", []):
                    self._client.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
                    deleted += 1
                if not response.get("LastEvaluatedKey"):
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return deleted
