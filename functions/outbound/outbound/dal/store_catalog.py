"""Stores and their inventory in the outbound table (all DynamoDB access for them; low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| store | ``STORE#<store_id>`` | ``STORE`` | name, lat, lon, time zone, address, grid cell |
| store in its grid cell | ``STOREGRID#<cell>`` | ``STORE#<store_id>`` | a copy of the store (the geo lookup) |
| stock | ``STORE#<store_id>`` | ``INVENTORY#<sku>`` | quantity on hand |
| stock held | ``STORE#<store_id>`` | ``HOLD#<ticket code>#<sku>`` | quantity held for an offer, ``until`` |
| holds' revision | ``STORE#<store_id>`` | ``HOLDS`` | ``rev``: every new hold in the store moves it (one writer wins) |

Stock held: an online-to-store offer holds what it promises until its ticket expires (or is redeemed, or the
offer is cancelled), so two offers for the last coat cannot both go out. What an offer may promise is the quantity
on hand less the holds still running, read with one Query per store (``HOLD`` prefix: the holds and their
revision); the new holds are written in the offer's own transaction, conditional on the revision read, so of two
offers deciding on the same store at once one writes and the other decides again.

"Stores within r km" queries the few grid cells the circle touches (``outbound.store_offers.geo``) and keeps those
within r by great-circle distance; a store that moves changes cell in the same transaction as its item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.dynamodb import cancellation_codes
from omnichannel.retry import RetriesExhausted, attempts
from outbound.store_offers.geo import Point, cell_of, cells_within, haversine_km
from outbound.store_offers.store_offer import Store

STORE_SK = "STORE"
INVENTORY_SK_PREFIX = "INVENTORY#"
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
MAX_BATCH_ROUNDS = 8


HOLD_SK_PREFIX = "HOLD#"
HOLDS_REV_SK = "HOLDS"


@dataclass(frozen=True)
class StoreHolds:
    """The holds still running in one store: quantity per sku, and the revision they were read at."""

    rev: int | None = None  # None: no hold was ever written in this store
    held: Mapping[str, int] = field(default_factory=dict)


class StoreMoved(RuntimeError):
    """The store changed while it was being written: read it again."""


def store_pk(store_id: str) -> str:
    return f"STORE#{store_id}"


def grid_pk(cell: str) -> str:
    return f"STOREGRID#{cell}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _store_attributes(store: Store) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "store_id": _s(store.store_id),
        "name": _s(store.name),
        "lat": {"N": repr(store.location.lat)},
        "lon": {"N": repr(store.location.lon)},
    }
    if store.time_zone:
        attributes["time_zone"] = _s(store.time_zone)
    if store.address:
        attributes["address"] = _s(store.address)
    return attributes


def store_from_item(item: dict[str, Any]) -> Store:
    return Store(
        store_id=item["store_id"]["S"],
        name=item["name"]["S"],
        location=Point(float(item["lat"]["N"]), float(item["lon"]["N"])),
        time_zone=item.get("time_zone", {}).get("S"),
        address=item.get("address", {}).get("S"),
    )


class StoreCatalog:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, store_id: str) -> Store | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(store_pk(store_id)), "sk": _s(STORE_SK)}, ConsistentRead=True
        ).get("Item")
        return store_from_item(item) if item else None

    def put(self, store: Store, updated_at: str) -> bool:
        """Create or replace the store; True when it is new. Raises ``StoreMoved`` if it changed meanwhile."""
        current = self._client.get_item(
            TableName=self._table, Key={"pk": _s(store_pk(store.store_id)), "sk": _s(STORE_SK)}, ConsistentRead=True
        ).get("Item")
        cell = cell_of(store.location)
        attributes = _store_attributes(store)
        main: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                "pk": _s(store_pk(store.store_id)),
                "sk": _s(STORE_SK),
                "kind": _s("store"),
                "cell": _s(cell),
                "updated_at": _s(updated_at),
                **attributes,
            },
        }
        if current is None:
            main["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            main["ConditionExpression"] = "#cell = :cell"
            main["ExpressionAttributeNames"] = {"#cell": "cell"}
            main["ExpressionAttributeValues"] = {":cell": current["cell"]}
        writes: list[dict[str, Any]] = [
            {"Put": main},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _s(grid_pk(cell)),
                        "sk": _s(store_pk(store.store_id)),
                        "kind": _s("store_cell"),
                        **attributes,
                    },
                }
            },
        ]
        if current is not None and current["cell"]["S"] != cell:
            old = {"pk": _s(grid_pk(current["cell"]["S"])), "sk": _s(store_pk(store.store_id))}
            writes.append({"Delete": {"TableName": self._table, "Key": old}})
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                raise StoreMoved(f"store {store.store_id} changed while it was written") from error
            raise
        return current is None

    def near(self, centre: Point, radius_km: float) -> list[tuple[Store, float]]:
        """Stores within ``radius_km`` of ``centre``, nearest first, with their distance in km."""
        found: list[tuple[Store, float]] = []
        for cell in cells_within(centre, radius_km):
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _s(grid_pk(cell))},
            }
            while True:
                response = self._client.query(**request)
                for item in response.get("Items", []):
                    store = store_from_item(item)
                    distance = haversine_km(centre, store.location)
                    if distance <= radius_km:
                        found.append((store, distance))
                if not response.get("LastEvaluatedKey"):
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(found, key=lambda entry: (entry[1], entry[0].store_id))

    def set_quantities(self, store_id: str, quantities: Sequence[tuple[str, int]], updated_at: str) -> None:
        """Set the quantity on hand of each sku (the last write of a sku wins; BatchWriteItem, 25 a call)."""
        latest = dict(quantities)  # one sku twice in a batch is refused by DynamoDB: keep the last
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": _s(store_pk(store_id)),
                        "sk": _s(INVENTORY_SK_PREFIX + sku),
                        "kind": _s("inventory"),
                        "sku": _s(sku),
                        "quantity": {"N": str(quantity)},
                        "updated_at": _s(updated_at),
                    }
                }
            }
            for sku, quantity in latest.items()
        ]
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            pending: dict[str, Any] = {self._table: requests[start : start + BATCH_WRITE_ITEMS]}
            for _round in attempts(MAX_BATCH_ROUNDS, base=0.05, cap=1.0, jitter=False):
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise RetriesExhausted(f"DynamoDB left {len(pending[self._table])} inventory writes unprocessed")

    def stock(self, store_ids: Iterable[str], skus: Iterable[str]) -> dict[str, dict[str, int]]:
        """Quantity on hand per store and sku (absent: none), read with BatchGetItem."""
        keys = [
            {"pk": _s(store_pk(store_id)), "sk": _s(INVENTORY_SK_PREFIX + sku)}
            for store_id in dict.fromkeys(store_ids)
            for sku in dict.fromkeys(skus)
        ]
        stock: dict[str, dict[str, int]] = {}
        for start in range(0, len(keys), BATCH_GET_KEYS):
            pending: dict[str, Any] = {self._table: {"Keys": keys[start : start + BATCH_GET_KEYS]}}
            for _round in attempts(MAX_BATCH_ROUNDS, base=0.05, cap=1.0, jitter=False):
                response = self._client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    store_id = item["pk"]["S"].removeprefix("STORE#")
                    sku = item["sk"]["S"].removeprefix(INVENTORY_SK_PREFIX)
                    stock.setdefault(store_id, {})[sku] = int(Decimal(item["quantity"]["N"]))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise RetriesExhausted("DynamoDB left inventory reads unprocessed")
        return stock

    def holds(self, store_ids: Iterable[str], now: str) -> dict[str, StoreHolds]:
        """The holds running at ``now`` per store (one Query a store), with the revision they were read at."""
        found: dict[str, StoreHolds] = {}
        for store_id in dict.fromkeys(store_ids):
            rev: int | None = None
            held: dict[str, int] = {}
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :hold)",
                "ExpressionAttributeValues": {":pk": _s(store_pk(store_id)), ":hold": _s("HOLD")},
                "ConsistentRead": True,
            }
            while True:
                response = self._client.query(**request)
                for item in response.get("Items", []):
                    if item["sk"]["S"] == HOLDS_REV_SK:
                        rev = int(item["rev"]["N"])
                    elif item["until"]["S"] > now:
                        sku = item["sku"]["S"]
                        held[sku] = held.get(sku, 0) + int(item["quantity"]["N"])
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            found[store_id] = StoreHolds(rev, held)
        return found

    def hold_writes(
        self, store_id: str, ticket_code: str, quantities: Mapping[str, int], until: str, read: StoreHolds | None
    ) -> list[dict[str, Any]]:
        """The transaction items that hold ``quantities`` in the store for a ticket, if the holds are still as read.

        The first item is the revision's conditional write: the offer store raises ``HoldsChanged`` when the
        transaction is cancelled there (another offer held stock in this store since ``read``)."""
        read = read or StoreHolds()
        expires_at = int(datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp()) + 86400
        rev_key = {"pk": _s(store_pk(store_id)), "sk": _s(HOLDS_REV_SK)}
        if read.rev is None:
            revision: dict[str, Any] = {
                "Put": {
                    "TableName": self._table,
                    "Item": {**rev_key, "kind": _s("stock_holds"), "rev": {"N": "1"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        else:
            revision = {
                "Update": {
                    "TableName": self._table,
                    "Key": rev_key,
                    "UpdateExpression": "SET rev = :next",
                    "ConditionExpression": "rev = :read",
                    "ExpressionAttributeValues": {":read": {"N": str(read.rev)}, ":next": {"N": str(read.rev + 1)}},
                }
            }
        holds = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _s(store_pk(store_id)),
                        "sk": _s(f"{HOLD_SK_PREFIX}{ticket_code}#{sku}"),
                        "kind": _s("stock_hold"),
                        "sku": _s(sku),
                        "quantity": {"N": str(quantity)},
                        "ticket_code": _s(ticket_code),
                        "until": _s(until),
                        "expires_at": {"N": str(expires_at)},
                    },
                }
            }
            for sku, quantity in sorted(quantities.items())
        ]
        return [revision, *holds]

    def release(self, store_id: str, ticket_code: str) -> int:
        """End a ticket's holds in the store (redeemed, cancelled); returns how many. Safe to repeat."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
            ExpressionAttributeValues={":pk": _s(store_pk(store_id)), ":hold": _s(f"{HOLD_SK_PREFIX}{ticket_code}#")},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        for item in items:
            self._client.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)
