"""The events table: every captured event once, plus the outbox of events whose publication kept failing.

Items
- event:  ``pk = EVENT#<event_id>``, ``sk = EVENT``; the canonical event (JSON), the raw message, one
  ``id_<type>`` attribute per identifier (each is the key of a sparse index ``by_<type>`` whose range key is
  ``occurred_at``: all events of one identifier, newest first, without a scan), ``expires_at`` (TTL).
- outbox: ``pk = OUTBOX#<shard>``, ``sk = <time>#<uuid>``; the ids of events stored but not yet published.

A new event item is written on the condition that its id is new: one PutItem for a single call, one
transaction per 100 events for a batch. The table's stream carries each new item to the stream publisher.
Nothing above this module touches boto3.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from capture.logic.capture_service import IncomingEvent, OutboxEntry, StoreResult
from omnichannel.canonical_event import CanonicalEvent, utc_iso
from omnichannel.dynamodb import cancellation_codes, condition_failed, ttl_after

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_PREFIX = "EVENT#"
EVENT_SK = "EVENT"
OUTBOX_PREFIX = "OUTBOX#"
MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 3_500_000  # DynamoDB allows 4 MB; keep room for attribute overhead
MAX_CONFLICT_RETRIES = 5
NEW_ITEM = "attribute_not_exists(pk)"


def event_key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": EVENT_PREFIX + event_id}, "sk": {"S": EVENT_SK}}


def identifier_attribute(identifier_type: str) -> str:
    return f"id_{identifier_type}"


def identifier_index(identifier_type: str) -> str:
    return f"by_{identifier_type}"


def event_item(incoming: IncomingEvent, expires_at: int) -> dict[str, Any]:
    event = incoming.event
    item: dict[str, Any] = {
        **event_key(event.event_id),
        "event_id": {"S": event.event_id},
        "type": {"S": event.type.value},
        "channel": {"S": event.channel.value},
        "source": {"S": event.source},
        "message_id": {"S": event.message_id},
        "occurred_at": {"S": utc_iso(event.occurred_at)},
        "received_at": {"S": utc_iso(event.received_at)},
        "event": {"S": event.model_dump_json(exclude_none=True)},
        "expires_at": {"N": str(expires_at)},
    }
    if event.name:
        item["name"] = {"S": event.name}
    if incoming.raw is not None:
        item["raw"] = {"S": incoming.raw}
    for identifier_type, value in event.identifiers.items():
        item[identifier_attribute(identifier_type)] = {"S": value}
    return item


def event_from_item(item: dict[str, Any]) -> CanonicalEvent:
    """The canonical event of a stored item, or of a stream record's NewImage (same attribute-value shape)."""
    return CanonicalEvent.model_validate_json(item["event"]["S"])


def is_event_item(item: dict[str, Any]) -> bool:
    return item.get("sk", {}).get("S") == EVENT_SK and "event" in item


def _item_size(item: dict[str, Any]) -> int:
    return sum(len(name) + len(next(iter(value.values()))) for name, value in item.items())


def _groups(items: list[tuple[IncomingEvent, dict[str, Any]]]) -> Iterator[list[tuple[IncomingEvent, dict[str, Any]]]]:
    group: list[tuple[IncomingEvent, dict[str, Any]]] = []
    size = 0
    for pair in items:
        item_size = _item_size(pair[1])
        if group and (len(group) == MAX_TRANSACTION_ITEMS or size + item_size > MAX_TRANSACTION_BYTES):
            yield group
            group, size = [], 0
        group.append(pair)
        size += item_size
    if group:
        yield group


class DynamoDBEventStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        retention_days: int = 395,
        outbox_shards: int = 16,
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = timedelta(days=retention_days)
        self._shards = outbox_shards

    # -- capture path -------------------------------------------------------------------------------------
    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        result = StoreResult()
        pairs = [
            (incoming, event_item(incoming, ttl_after(incoming.event.received_at, self._retention)))
            for incoming in events
        ]
        for group in _groups(pairs):
            self._store_group(group, result)
        return result

    def _store_group(self, group: list[tuple[IncomingEvent, dict[str, Any]]], result: StoreResult) -> None:
        if len(group) == 1:
            incoming, item = group[0]
            try:
                self._client.put_item(TableName=self._table, Item=item, ConditionExpression=NEW_ITEM)
            except ClientError as error:
                if not condition_failed(error):
                    raise
                result.duplicates.append(incoming.event)
            else:
                result.stored.append(incoming.event)
            return
        pending = list(group)
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            actions: list[Any] = [
                {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": NEW_ITEM}}
                for _, item in pending
            ]
            try:
                self._client.transact_write_items(TransactItems=actions)
            except ClientError as error:
                reasons = cancellation_codes(error)
                if not reasons:
                    raise
                duplicates = {index for index, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                if not duplicates:
                    if attempt == MAX_CONFLICT_RETRIES:
                        raise
                    time.sleep(0.02 * (2**attempt) * random.random())  # noqa: S311 - a conflict: back off, retry
                    continue
                result.duplicates.extend(pending[index][0].event for index in sorted(duplicates))
                pending = [pair for index, pair in enumerate(pending) if index not in duplicates]
                if len(pending) <= 1:
                    if pending:
                        self._store_group(pending, result)
                    return
                continue
            result.stored.extend(incoming.event for incoming, _ in pending)
            return
        raise RuntimeError("the events could not be stored: transaction conflicts did not clear")

    # -- outbox ---------------------------------------------------------------------------------------------
    def add_to_outbox(self, event_ids: Sequence[str]) -> OutboxEntry:
        shard = random.randrange(self._shards)  # noqa: S311 - spreads writes, not a secret
        entry = OutboxEntry(
            pk=f"{OUTBOX_PREFIX}{shard}", sk=f"{utc_iso(datetime.now(UTC))}#{uuid.uuid4()}", event_ids=tuple(event_ids)
        )
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": entry.pk}, "sk": {"S": entry.sk}, "event_ids": {"SS": list(entry.event_ids)}},
        )
        return entry

    def settle_outbox(self, entry: OutboxEntry, unpublished: Sequence[str]) -> None:
        key = {"pk": {"S": entry.pk}, "sk": {"S": entry.sk}}
        if unpublished:
            self._client.put_item(TableName=self._table, Item={**key, "event_ids": {"SS": list(unpublished)}})
        else:
            self._client.delete_item(TableName=self._table, Key=key)

    # -- relay -------------------------------------------------------------------------------------
    def due_outbox_entries(self, older_than: datetime, limit: int = 100) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = []
        cutoff = utc_iso(older_than)
        for shard in range(self._shards):
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk < :cutoff",
                ExpressionAttributeValues={":pk": {"S": f"{OUTBOX_PREFIX}{shard}"}, ":cutoff": {"S": cutoff}},
                Limit=limit,
            )
            for item in response.get("Items", []):
                entries.append(
                    OutboxEntry(
                        pk=item["pk"]["S"], sk=item["sk"]["S"], event_ids=tuple(sorted(item["event_ids"]["SS"]))
                    )
                )
        return entries

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        ids = list(dict.fromkeys(event_ids))
        for start in range(0, len(ids), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [event_key(event_id) for event_id in ids[start : start + 100]],
                    "ProjectionExpression": "#e",
                    "ExpressionAttributeNames": {"#e": "event"},
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                events.extend(event_from_item(item) for item in response["Responses"].get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
        return events

    # -- reads ----------------------------------------------------------------------------------------------
    def get_event(self, event_id: str) -> CanonicalEvent | None:
        response = self._client.get_item(TableName=self._table, Key=event_key(event_id))
        item = response.get("Item")
        return event_from_item(item) if item else None

    def events_of_identifier(
        self, identifier_type: str, value: str, *, limit: int = 50, start: dict[str, Any] | None = None
    ) -> tuple[list[CanonicalEvent], dict[str, Any] | None]:
        """All events carrying one identifier, newest first (one page and the key of the next)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": identifier_index(identifier_type),
            "KeyConditionExpression": "#id = :value",
            "ExpressionAttributeNames": {"#id": identifier_attribute(identifier_type)},
            "ExpressionAttributeValues": {":value": {"S": value}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        return [event_from_item(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")
