"""The carts table: all DynamoDB access of the carts function (low-level client API).

Items (``pk`` / ``sk``):

- ``CART#<type>#<value>`` / ``CART``: the cart of one identifier (``user_id`` or ``anonymous_id``), or a pointer
  to the profile's cart (``moved_to``). Written with ``PutItem`` conditioned on ``rev`` (optimistic locking).
  ``applied`` remembers the bus events applied to it (idempotency in the same write as the change).
- ``CART#...`` / ``SAVED#<from cart id>#<version>``: a cart kept aside by a merge (replace mode).
- ``PROFILE#<profile id>`` / ``PROFILE``: the identifiers carts has seen for a profile (string set ``ids``,
  ``<type>:<value>``) and ``merged_into``.
- ``LINK#<type>#<value>`` / ``LINK``: an identifier tied to a customer by verified links (``profile_id``): the
  customer's cart follows them through it (a store purchase by loyalty card).
- ``PARKED#<identifier digest>`` / ``<event id>``: an event that named only identifiers carts did not know yet,
  filed under each of them (one-way digests) without them (``event``: its lines and totals), for a day
  (``expires_at``): the profile event that ties one of them to a customer applies it.

The sparse index ``by_abandon_due`` (``due_shard``, ``due_at``) holds only carts the abandonment sweep must look
at: a sweep queries what is due instead of scanning. ``due_shard`` spreads the index over a few partitions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from carts.logic.cart import CART_SK, Cart, Line, cart_id_of
from carts.logic.cart_merge import SavedCart
from carts.logic.ports import CartWrite, ProfileMirror, WriteConflict
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.dynamodb import cancellation_codes, condition_failed
from omnichannel.identifiers import identifier_digest

DUE_INDEX = "by_abandon_due"
PROFILE_SK = "PROFILE"
LINK_SK = "LINK"
SAVED_PREFIX = "SAVED#"
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_BATCH_GET = 100
_BATCH_WRITE = 25


def iso(moment: datetime) -> str:
    """Fixed-width UTC text (four-digit year, microseconds, ``Z``): sorts as time, which the due index relies on.
    (``strftime("%Y")`` writes year 1 as ``1``, which neither sorts nor reads back.)"""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_SHORT_YEAR = re.compile(r"^(\d{1,3})-")


def _moment(text: str | None) -> datetime | None:
    """A stored time; one written with a short year before it was fixed (``1-01-01T...``) still reads."""
    if not text:
        return None
    return datetime.fromisoformat(_SHORT_YEAR.sub(lambda found: f"{int(found[1]):04d}-", text))


def profile_pk(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


def link_pk(kind: str, value: str) -> str:
    return f"LINK#{kind}#{value}"


def parked_pk(kind: str, value: str) -> str:
    return f"PARKED#{identifier_digest(kind, value)}"


def due_shard(key: str, shards: int) -> str:
    return f"DUE#{int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % shards}"


def _line_item(line: Line) -> dict[str, Any]:
    item: dict[str, Any] = {"product_id": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
    for name in ("variant", "sku", "name"):
        value = getattr(line, name)
        if value is not None:
            item[name] = value
    return item


def _line(item: dict[str, Any]) -> Line:
    return Line(
        product_id=str(item["product_id"]),
        quantity=int(item["quantity"]),
        unit_price=Decimal(item["unit_price"]),
        variant=item.get("variant"),
        sku=item.get("sku"),
        name=item.get("name"),
    )


def cart_item(write: CartWrite, shards: int) -> dict[str, Any]:
    """The DynamoDB item (plain Python values) of a cart write."""
    cart = write.cart
    item: dict[str, Any] = {
        "pk": cart.key,
        "sk": CART_SK,
        "cart_id": cart_id_of(cart.key),
        "rev": cart.rev,
        "version": cart.version,
        "lines": [_line_item(line) for line in cart.lines],
        "abandoned_episodes": cart.abandoned_episodes,
        "recovered_episodes": cart.recovered_episodes,
        "abandon_pending": cart.abandon_pending,
        "applied": dict(cart.applied),
    }
    optional: dict[str, Any] = {
        "currency": cart.currency,
        "profile_id": cart.profile_id,
        "moved_to": cart.moved_to,
        "created_at": iso(cart.created_at) if cart.created_at else None,
        "last_activity_at": iso(cart.last_activity_at) if cart.last_activity_at else None,
        "last_channel": cart.last_channel,
        "closed_at": iso(cart.closed_at) if cart.closed_at else None,
        "last_order_id": cart.last_order_id,
        "abandoned_at": iso(cart.abandoned_at) if cart.abandoned_at else None,
        "abandon_retry_at": iso(cart.abandon_retry_at) if cart.abandon_retry_at else None,
        "last_recovery": cart.last_recovery,
        "expires_at": write.expires_at,
    }
    if write.due_at is not None:
        optional["due_shard"] = due_shard(cart.key, shards)
        optional["due_at"] = iso(write.due_at)
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def cart_from_item(key: str, item: dict[str, Any] | None) -> Cart:
    if item is None:
        return Cart(key=key)
    return Cart(
        key=key,
        exists=True,
        rev=int(item["rev"]),
        version=int(item["version"]),
        currency=item.get("currency"),
        lines=tuple(_line(line) for line in item.get("lines", [])),
        profile_id=item.get("profile_id"),
        moved_to=item.get("moved_to"),
        created_at=_moment(item.get("created_at")),
        last_activity_at=_moment(item.get("last_activity_at")),
        last_channel=item.get("last_channel"),
        closed_at=_moment(item.get("closed_at")),
        last_order_id=item.get("last_order_id"),
        abandoned_episodes=int(item.get("abandoned_episodes", 0)),
        recovered_episodes=int(item.get("recovered_episodes", 0)),
        abandoned_at=_moment(item.get("abandoned_at")),
        abandon_pending=bool(item.get("abandon_pending", False)),
        abandon_retry_at=_moment(item.get("abandon_retry_at")),
        last_recovery=item.get("last_recovery"),
        applied={str(event_id): int(moment) for event_id, moment in (item.get("applied") or {}).items()},
    )


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _identifier_text(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def _identifier(text: str) -> tuple[str, str]:
    kind, _, value = text.partition(":")
    return kind, value


class DynamoDBCartStore:
    """The carts table through the DynamoDB client; ``due_shards`` must match what the sweep queries."""

    def __init__(self, client: Any, table_name: str, *, due_shards: int = 4) -> None:
        self._client = client
        self._table = table_name
        self._shards = due_shards

    # ------------------------------------------------------------------ carts
    def load(self, key: str) -> Cart:
        item = self._client.get_item(TableName=self._table, Key=_key(key, CART_SK), ConsistentRead=True).get("Item")
        return cart_from_item(key, _plain(item) if item else None)

    def load_many(self, keys: Sequence[str]) -> dict[str, Cart]:
        found: dict[str, Cart] = {key: Cart(key=key) for key in keys}
        unique = sorted(set(keys))
        for start in range(0, len(unique), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_key(key, CART_SK) for key in unique[start : start + _BATCH_GET]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    plain = _plain(item)
                    found[plain["pk"]] = cart_from_item(plain["pk"], plain)
                request = answer.get("UnprocessedKeys") or {}
        return found

    def _put(self, write: CartWrite) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": _wire(cart_item(write, self._shards))}
        if write.expected_rev is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#rev = :rev"
            put["ExpressionAttributeNames"] = {"#rev": "rev"}
            put["ExpressionAttributeValues"] = {":rev": {"N": str(write.expected_rev)}}
        return put

    def save(self, write: CartWrite) -> None:
        try:
            self._client.put_item(**self._put(write))
        except ClientError as error:
            if condition_failed(error):
                raise WriteConflict(write.cart.key) from error
            raise

    def save_all(self, writes: Sequence[CartWrite], saved: Sequence[SavedCart], saved_expires_at: int) -> None:
        """Every cart write and saved cart in one transaction: all of them or none (at most 100 items)."""
        items: list[dict[str, Any]] = [{"Put": self._put(write)} for write in writes]
        for cart in saved:
            item = {
                "pk": cart.home_key,
                "sk": f"{SAVED_PREFIX}{cart_id_of(cart.from_key)}#{cart.from_version}",
                "cart_id": cart_id_of(cart.from_key),
                "version": cart.from_version,
                "lines": [_line_item(line) for line in cart.lines],
                "expires_at": saved_expires_at,
            }
            if cart.currency:
                item["currency"] = cart.currency
            if cart.last_activity_at:
                item["last_activity_at"] = iso(cart.last_activity_at)
            items.append({"Put": {"TableName": self._table, "Item": _wire(item)}})
        if not items:
            return
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_codes(error) or "TransactionConflict" in cancellation_codes(
                error
            ):
                raise WriteConflict(",".join(write.cart.key for write in writes)) from error
            raise

    def saved_carts(self, home_key: str) -> list[SavedCart]:
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :saved)",
            ExpressionAttributeValues={":pk": {"S": home_key}, ":saved": {"S": SAVED_PREFIX}},
        )
        carts = []
        for raw in answer.get("Items", []):
            item = _plain(raw)
            carts.append(
                SavedCart(
                    home_key=home_key,
                    from_key=str(item["cart_id"]),  # the public id: the source key is not kept
                    from_version=int(item["version"]),
                    currency=item.get("currency"),
                    lines=tuple(_line(line) for line in item.get("lines", [])),
                    last_activity_at=_moment(item.get("last_activity_at")),
                )
            )
        return carts

    def due_keys(self, shard: int, now: datetime, limit: int) -> list[str]:
        """Keys of carts due by ``now`` in one shard of the sparse index, oldest first (paged, at most ``limit``)."""
        keys: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_shard = :shard AND due_at <= :now",
            "ExpressionAttributeValues": {":shard": {"S": f"DUE#{shard}"}, ":now": {"S": iso(now)}},
            "Limit": limit,
        }
        while len(keys) < limit:
            answer = self._client.query(**request)
            keys += [item["pk"]["S"] for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            request["Limit"] = limit - len(keys)
        return keys[:limit]

    # ------------------------------------------------------------------ profiles as carts knows them
    def add_profile_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> ProfileMirror:
        texts = sorted({_identifier_text(kind, value) for kind, value in identifiers})
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(profile_pk(profile_id), PROFILE_SK),
            "ReturnValues": "ALL_NEW",
        }
        if texts:
            update["UpdateExpression"] = "ADD ids :ids"
            update["ExpressionAttributeValues"] = {":ids": {"SS": texts}}
        else:
            update["UpdateExpression"] = "SET profile_id = :id"
            update["ExpressionAttributeValues"] = {":id": {"S": profile_id}}
        attributes = _plain(self._client.update_item(**update).get("Attributes") or {})
        return self._mirror(profile_id, attributes)

    def remove_profile_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> None:
        texts = sorted({_identifier_text(kind, value) for kind, value in identifiers})
        if texts:
            self._client.update_item(
                TableName=self._table,
                Key=_key(profile_pk(profile_id), PROFILE_SK),
                UpdateExpression="DELETE ids :ids",
                ExpressionAttributeValues={":ids": {"SS": texts}},
            )

    def profile(self, profile_id: str) -> ProfileMirror | None:
        item = self._client.get_item(
            TableName=self._table, Key=_key(profile_pk(profile_id), PROFILE_SK), ConsistentRead=True
        ).get("Item")
        return self._mirror(profile_id, _plain(item)) if item else None

    def mark_profile_merged(self, merged_id: str, survivor_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_key(profile_pk(merged_id), PROFILE_SK),
            UpdateExpression="SET merged_into = :survivor",
            ExpressionAttributeValues={":survivor": {"S": survivor_id}},
        )

    def clear_profile_merged(self, profile_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_key(profile_pk(profile_id), PROFILE_SK),
            UpdateExpression="REMOVE merged_into",
        )

    @staticmethod
    def _mirror(profile_id: str, attributes: dict[str, Any]) -> ProfileMirror:
        ids = frozenset(_identifier(text) for text in attributes.get("ids") or set())
        return ProfileMirror(profile_id=profile_id, identifiers=ids, merged_into=attributes.get("merged_into"))

    # ------------------------------------------------------------------ the customer's cart follows them
    def link_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> None:
        requests = [
            {"PutRequest": {"Item": _wire({"pk": link_pk(kind, value), "sk": LINK_SK, "profile_id": profile_id})}}
            for kind, value in sorted(set(identifiers))
        ]
        self._batch_write(requests)

    def unlink_identifiers(self, identifiers: Iterable[tuple[str, str]]) -> None:
        keys = [_key(link_pk(kind, value), LINK_SK) for kind, value in sorted(set(identifiers))]
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])

    def linked_profiles(self, identifiers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Which of these identifiers are tied to a customer's profile by verified links, and to which (one read)."""
        wanted = {link_pk(kind, value): (kind, value) for kind, value in identifiers}
        found: dict[tuple[str, str], str] = {}
        keys = [_key(pk, LINK_SK) for pk in sorted(wanted)]
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {self._table: {"Keys": keys[start : start + _BATCH_GET]}}
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    found[wanted[item["pk"]["S"]]] = item["profile_id"]["S"]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def park(self, event: CanonicalEvent, identifiers: Iterable[tuple[str, str]], expires_at: int) -> None:
        """Keep an event for the profile event that will tell whose it is, filed under each identifier's digest,
        without its identifiers (no personal data waits here), a day at most."""
        anonymous = event.model_copy(update={"identifiers": {}, "context": {}, "traits": {}})
        body = anonymous.model_dump_json(exclude_none=True)
        self._batch_write(
            [
                {
                    "PutRequest": {
                        "Item": _wire(
                            {
                                "pk": parked_pk(kind, value),
                                "sk": event.event_id,
                                "event": body,
                                "expires_at": expires_at,
                            }
                        )
                    }
                }
                for kind, value in sorted(set(identifiers))
            ]
        )

    def parked_for(self, identifiers: Iterable[tuple[str, str]]) -> list[CanonicalEvent]:
        found: dict[str, CanonicalEvent] = {}
        for kind, value in sorted(set(identifiers)):
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": parked_pk(kind, value)}},
                ConsistentRead=True,
            )
            for item in answer.get("Items", []):
                event = CanonicalEvent.model_validate_json(item["event"]["S"])
                found.setdefault(event.event_id, event)
        return sorted(found.values(), key=lambda event: (event.occurred_at, event.event_id))

    def unpark(self, event_id: str, identifiers: Iterable[tuple[str, str]]) -> None:
        keys = [_key(parked_pk(kind, value), event_id) for kind, value in sorted(set(identifiers))]
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _BATCH_WRITE):
            pending: dict[str, Any] = {self._table: list(requests[start : start + _BATCH_WRITE])}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    # ------------------------------------------------------------------ erasure
    def erase(self, cart_keys: Iterable[str], profile_ids: Iterable[str]) -> int:
        """Delete these carts (with their saved carts) and profile records; returns the items deleted."""
        keys: list[dict[str, Any]] = []
        for pk in sorted(set(cart_keys)):
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ProjectionExpression": "pk, sk",
            }
            while True:
                answer = self._client.query(**request)
                keys += answer.get("Items", [])
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        keys += [_key(profile_pk(profile_id), PROFILE_SK) for profile_id in sorted(set(profile_ids))]
        for start in range(0, len(keys), _BATCH_WRITE):
            pending: dict[str, Any] = {
                self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + _BATCH_WRITE]]
            }
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return len(keys)
