"""The events table: every captured event once, plus the outbox of events whose publication kept failing.

Items
- event:  ``pk = EVENT#<event_id>``, ``sk = EVENT``; ``event``: the compact canonical event (its ``context`` without
  what no consumer reads), its JSON zlib-compressed (``omnichannel.stored_event``: a typical web event's 1.3 KB of
  JSON becomes about 0.4 KB, so an item stays well under the 1 KB of one write unit); ``expires_at`` (TTL).
  Nothing else: the raw message goes to the data lake (S3, through Firehose, see ``raw_archive``), what the
  canonical event holds is not repeated beside it, and the table has no index: every reader knows the ids it
  wants (the profiles timeline, an erasure request) and reads by key. Items stored before the identifier indexes
  were dropped still hold ``occurred_at`` and one ``id_<type>`` attribute per identifier: harmless, never read, and
  removed when the event is redacted.
- outbox: ``pk = OUTBOX#<shard>``, ``sk = <time>#<uuid>``, ``event_ids`` (the ids of events stored but not yet
  published), ``attempts`` (the relay's failed attempts). ``<time>`` is when the entry was parked or, after a
  failed attempt, until when it waits: the relay reads each shard oldest first, and a failing entry is
  written again further on (then the old one deleted), so it never blocks the ones behind it.
- dead letter: ``pk = OUTBOX#DEAD``, ``sk = <time>#<uuid>``, ``event_ids``, ``attempts``, ``reason`` (the
  bus's error code, ``EntryTooLarge`` or ``Undecodable``), ``expires_at`` (the events' own retention). The
  relay never reads this partition; an operator replays an entry by writing it back to an ``OUTBOX#<shard>``.

A single event is written on the condition that its id is new (one conditional PutItem). A batch asks first which
of its ids the table holds (``BatchGetItem`` of the keys, 100 a request) and writes only the others with
``BatchWriteItem`` (25 a request, ``PARALLEL_WRITES`` requests in parallel): 25 round trips for 500 events instead
of 500, the same write units (a transaction would bill each item twice, and a batch's events do not need to be
stored all or none, only each once). The read is strongly consistent, so an id stored by an earlier request is
always seen; only two requests in flight at the same moment with the same new id may both write it: the first
write is the stream's INSERT, the second a MODIFY (or nothing, the item being the same but for ``received_at``),
and only INSERTs are published (the stream publisher's filter), so the bus still gets the event once
(``docs/security.md`` says what a second write with other content can and cannot change). The table's stream
carries each new item to the stream publisher.
Nothing above this module touches boto3.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from capture.logic.capture_service import IncomingEvent, OutboxEntry, StoreResult
from capture.logic.outbox_relay import RELAY_BUDGET
from omnichannel.canonical_event import CanonicalEvent, utc_iso
from omnichannel.dynamodb import condition_failed, ttl_after
from omnichannel.identifiers import IdentifierType
from omnichannel.retry import attempts
from omnichannel.stored_event import EVENT_ATTRIBUTE, compact_json, decode_event, encode_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_PREFIX = "EVENT#"
EVENT_SK = "EVENT"
OUTBOX_PREFIX = "OUTBOX#"
DEAD_LETTER_PK = OUTBOX_PREFIX + "DEAD"
OUTBOX_PAGE = 100  # entries per Query page
PARALLEL_WRITES = 10  # botocore's connection pool holds 10 connections by default
GET_CHUNK = 100  # keys a BatchGetItem takes
WRITE_CHUNK = 25  # puts a BatchWriteItem takes
MAX_UNPROCESSED_ROUNDS = 8  # BatchWriteItem/BatchGetItem leftovers retried with backoff, then an error
NEW_ITEM = "attribute_not_exists(pk)"
_T = TypeVar("_T")
_R = TypeVar("_R")


def event_key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": EVENT_PREFIX + event_id}, "sk": {"S": EVENT_SK}}


# What items stored before the identifier indexes were dropped still hold beside the event (never read)
LEGACY_ATTRIBUTES = ("occurred_at", *(f"id_{kind.value}" for kind in IdentifierType))


def event_item(incoming: IncomingEvent, expires_at: int) -> dict[str, Any]:
    event = incoming.event
    return {
        **event_key(event.event_id),
        EVENT_ATTRIBUTE: encode_event(compact_json(event)),
        "expires_at": {"N": str(expires_at)},
    }


def event_id_of_item(item: dict[str, Any]) -> str:
    """The event id an item's key names (readable even when its ``event`` attribute is not)."""
    return str(item.get("pk", {}).get("S", "")).removeprefix(EVENT_PREFIX)


def outbox_item(entry: OutboxEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": entry.pk},
        "sk": {"S": entry.sk},
        "event_ids": {"SS": list(entry.event_ids)},
        "attempts": {"N": str(entry.attempts)},
    }
    if entry.reason is not None:
        item["reason"] = {"S": entry.reason}
    return item


def outbox_entry(item: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        pk=item["pk"]["S"],
        sk=item["sk"]["S"],
        event_ids=tuple(sorted(item["event_ids"]["SS"])),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        reason=item.get("reason", {}).get("S"),
    )


def _outbox_ids(event_ids: Sequence[str]) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(event_ids))  # a string set holds each value once
    if not ids:
        raise ValueError("an outbox entry names at least one event")
    return ids


def event_from_item(item: dict[str, Any]) -> CanonicalEvent:
    """The canonical event of a stored item, or of a stream record's NewImage (same attribute-value shape)."""
    return decode_event(item)


def is_event_item(item: dict[str, Any]) -> bool:
    return item.get("sk", {}).get("S") == EVENT_SK and EVENT_ATTRIBUTE in item


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
        self._pool: ThreadPoolExecutor | None = None

    # -- capture path -------------------------------------------------------------------------------------
    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        """Each event written if its id is new; the rest are duplicates. One event: a conditional PutItem. A batch:
        the ids the table already holds read in ``BatchGetItem``s, the others written in ``BatchWriteItem``s (see
        the module docstring). An error other than a duplicate raises (after botocore's retries): the caller
        answers 5xx and the client sends again, and what was stored meanwhile is then a duplicate."""
        items = [event_item(incoming, ttl_after(incoming.event.received_at, self._retention)) for incoming in events]
        if len(items) == 1:
            new_ids = {events[0].event.event_id} if self._put_new(items[0]) else set()
        else:
            known = self._known_ids([incoming.event.event_id for incoming in events])
            fresh = [item for item in items if event_id_of_item(item) not in known]
            chunks = [fresh[start : start + WRITE_CHUNK] for start in range(0, len(fresh), WRITE_CHUNK)]
            list(self._parallel(self._write_chunk, chunks))
            new_ids = {event_id_of_item(item) for item in fresh}
        result = StoreResult()
        for incoming in events:
            (result.stored if incoming.event.event_id in new_ids else result.duplicates).append(incoming.event)
        return result

    def _parallel(self, work: Callable[[_T], _R], chunks: list[_T]) -> Iterator[_R]:
        if len(chunks) <= 1:
            return iter([work(chunk) for chunk in chunks])
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="event-store")
        return self._pool.map(work, chunks)

    def _known_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these ids the table holds (keys only: no event is read)."""
        ids = list(dict.fromkeys(event_ids))
        chunks = [ids[start : start + GET_CHUNK] for start in range(0, len(ids), GET_CHUNK)]
        return set().union(*self._parallel(self._known_chunk, chunks)) if chunks else set()

    def _known_chunk(self, event_ids: list[str]) -> set[str]:
        known: set[str] = set()
        request: dict[str, Any] = {
            self._table: {
                "Keys": [event_key(event_id) for event_id in event_ids],
                "ProjectionExpression": "pk",
                # strongly consistent: an id written a moment ago by another request is seen (see the docstring)
                "ConsistentRead": True,
            }
        }
        for _ in attempts(MAX_UNPROCESSED_ROUNDS, base=0.05, cap=1.0):
            response = self._client.batch_get_item(RequestItems=request)
            known.update(event_id_of_item(item) for item in response["Responses"].get(self._table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return known
        raise RuntimeError("BatchGetItem kept leaving keys unprocessed (the table is throttled)")

    def _write_chunk(self, items: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {self._table: [{"PutRequest": {"Item": item}} for item in items]}
        for _ in attempts(MAX_UNPROCESSED_ROUNDS, base=0.05, cap=1.0):
            request = self._client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                return
        raise RuntimeError("BatchWriteItem kept leaving items unprocessed (the table is throttled)")

    def _put_new(self, item: dict[str, Any]) -> bool:
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression=NEW_ITEM)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    # -- outbox ---------------------------------------------------------------------------------------------
    def add_to_outbox(self, event_ids: Sequence[str], *, due: datetime | None = None, attempts: int = 0) -> OutboxEntry:
        shard = random.randrange(self._shards)  # noqa: S311 - spreads writes, not a secret
        entry = OutboxEntry(
            pk=f"{OUTBOX_PREFIX}{shard}",
            sk=f"{utc_iso(due or datetime.now(UTC))}#{uuid.uuid4()}",
            event_ids=_outbox_ids(event_ids),
            attempts=attempts,
        )
        self._client.put_item(TableName=self._table, Item=outbox_item(entry))
        return entry

    def dead_letter(self, event_ids: Sequence[str], *, reason: str, attempts: int = 0) -> OutboxEntry:
        now = datetime.now(UTC)
        entry = OutboxEntry(
            pk=DEAD_LETTER_PK,
            sk=f"{utc_iso(now)}#{uuid.uuid4()}",
            event_ids=_outbox_ids(event_ids),
            attempts=attempts,
            reason=reason,
        )
        item = {**outbox_item(entry), "expires_at": {"N": str(ttl_after(now, self._retention))}}
        self._client.put_item(TableName=self._table, Item=item)
        return entry

    def remove_from_outbox(self, entry: OutboxEntry) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": entry.pk}, "sk": {"S": entry.sk}})

    # -- relay -------------------------------------------------------------------------------------
    def due_outbox_entries(self, older_than: datetime, limit: int = RELAY_BUDGET) -> list[OutboxEntry]:
        """Up to ``limit`` entries due before ``older_than``, each shard oldest first.

        The shards take turns, a page each (the budget shared out between them), so a crowded shard does not
        starve the others; a shard with more due entries is paged on (``LastEvaluatedKey``) in the next round.
        """
        cutoff = utc_iso(older_than)
        page = max(1, min(OUTBOX_PAGE, -(-limit // self._shards)))
        entries: list[OutboxEntry] = []
        next_keys: dict[int, dict[str, Any] | None] = dict.fromkeys(range(self._shards))
        while next_keys and len(entries) < limit:
            for shard, start in list(next_keys.items()):
                if len(entries) >= limit:
                    break
                query: dict[str, Any] = {
                    "TableName": self._table,
                    "KeyConditionExpression": "pk = :pk AND sk < :cutoff",
                    "ExpressionAttributeValues": {":pk": {"S": f"{OUTBOX_PREFIX}{shard}"}, ":cutoff": {"S": cutoff}},
                    "Limit": min(page, limit - len(entries)),
                }
                if start:
                    query["ExclusiveStartKey"] = start
                response = self._client.query(**query)
                entries.extend(outbox_entry(item) for item in response.get("Items", []))
                if response.get("LastEvaluatedKey"):
                    next_keys[shard] = response["LastEvaluatedKey"]
                else:
                    del next_keys[shard]
        return entries

    def dead_letters(self, limit: int = 100) -> list[OutboxEntry]:
        """The dead-lettered entries, oldest first (for operators; the relay never reads them)."""
        entries: list[OutboxEntry] = []
        start: dict[str, Any] | None = None
        while len(entries) < limit:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": DEAD_LETTER_PK}},
                "Limit": min(OUTBOX_PAGE, limit - len(entries)),
            }
            if start:
                query["ExclusiveStartKey"] = start
            response = self._client.query(**query)
            entries.extend(outbox_entry(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return entries

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        ids = list(dict.fromkeys(event_ids))
        for start in range(0, len(ids), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [event_key(event_id) for event_id in ids[start : start + 100]],
                    "ProjectionExpression": "#e",
                    "ExpressionAttributeNames": {"#e": EVENT_ATTRIBUTE},
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

    # -- erasure (the decision: logic/erasure.py) -----------------------------------------------------------
    def delete_events(self, event_ids: Sequence[str]) -> int:
        keys = [event_key(event_id) for event_id in dict.fromkeys(event_ids)]
        for start in range(0, len(keys), 25):
            request: dict[str, Any] = {
                self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
            while request:
                request = self._client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        return len(keys)

    def redact_event(self, event: CanonicalEvent) -> None:
        """Keep ``event`` as given (someone's identifiers taken out): its stored form rewritten (the same compact
        encoding as a new item, ``omnichannel.stored_event``); what an older item still holds beside it goes (its
        index-era ``occurred_at`` and ``id_<type>`` attributes, a raw message: raw messages are in the data lake now,
        docs/security.md says what erasure leaves there)."""
        removed = ["raw", *LEGACY_ATTRIBUTES]
        try:
            self._client.update_item(
                TableName=self._table,
                Key=event_key(event.event_id),
                UpdateExpression="SET #e = :e REMOVE " + ", ".join(f"#r{n}" for n in range(len(removed))),
                ExpressionAttributeNames={
                    "#e": EVENT_ATTRIBUTE,
                    **{f"#r{n}": name for n, name in enumerate(removed)},
                },
                ExpressionAttributeValues={":e": encode_event(compact_json(event))},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if not condition_failed(error):  # gone meanwhile (its retention ran out): nothing left to redact
                raise
