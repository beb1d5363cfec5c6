"""One read for a whole batch: the identifier items, suppression markers and profiles that a batch of events will
ask for are fetched with ``BatchGetItem`` up front; the store's own reads are then answered
from them.

``PrefetchingClient`` wraps the DynamoDB client the profile store uses and changes nothing else about it:

- ``get_item`` / ``batch_get_item`` on the profiles table answer a key fetched in this batch (found or known to be
  absent) without a call; other keys go to DynamoDB as before. The batch is read eventually consistent (half the
  read units): a decision's transaction is conditioned on what it read anyway, and a read that was stale makes it
  fail, be forgotten and be read again, consistently;
- a write (``put_item``, ``update_item``, ``delete_item``, ``batch_write_item``, ``transact_write_items``)
  forgets the keys it names, so the next read of them is a real one; except that a *successful* ``put_item`` or
  transaction remembers the items it put whole (write-through: what this resolver just wrote is what a read
  would return, and a session's next event needs no read of the profile its first event created). A decision made
  on an item that someone else changed meanwhile fails its transaction's condition (as with any read), the keys
  are forgotten, the store reads again, and that read is fresh;
- during a batch, what a real read of the table returns (a consistent read of a forgotten key) is remembered too;
- :meth:`PrefetchingClient.batch` holds what was fetched for one batch only and forgets it afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from omnichannel.identifiers import identifier_digest
from profiles.dal.items import (
    ID_SK,
    PROFILE_SK,
    SUPPRESSED_SK,
    S,
    identifier_pk,
    profile_pk,
    suppressed_pk,
)

BATCH_GET_KEYS = 100
WRITES = ("put_item", "update_item", "delete_item")
_ABSENT: dict[str, Any] = {}


def _key_of(key: Mapping[str, Any]) -> tuple[str, str]:
    return str(key["pk"]["S"]), str(key["sk"]["S"])


class PrefetchingClient:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._known: dict[tuple[str, str], dict[str, Any]] = {}  # _ABSENT: fetched, not there
        self._in_batch = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    # ------------------------------------------------------------------ the batch
    @contextmanager
    def batch(self, keys: Iterable[tuple[str, str]], *, follow_profiles: bool = True) -> Iterator[int]:
        """Fetch ``keys`` (pk, sk) and, with ``follow_profiles``, the profiles their identifier items name and the
        survivors those were merged into; answer reads from them until the block ends. Yields the calls made."""
        self._in_batch = True
        try:
            calls = self._fetch(keys)
            if follow_profiles:
                for _ in range(2):  # the profiles named, then the survivors of merged ones
                    named = {
                        (profile_pk(str(item[attribute]["S"])), PROFILE_SK)
                        for item in list(self._known.values())
                        for attribute in ("profile_id", "merged_into")
                        if item is not _ABSENT and attribute in item
                    }
                    calls += self._fetch(named - self._known.keys())
            yield calls
        finally:
            self._in_batch = False
            self._known.clear()

    def _fetch(self, keys: Iterable[tuple[str, str]]) -> int:
        wanted = sorted(set(keys) - self._known.keys())
        calls = 0
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            chunk = wanted[start : start + BATCH_GET_KEYS]
            request: dict[str, Any] = {
                self._table: {"Keys": [{"pk": S(pk), "sk": S(sk)} for pk, sk in chunk], "ConsistentRead": False}
            }
            found: dict[tuple[str, str], dict[str, Any]] = {}
            while request:
                calls += 1
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    found[_key_of(item)] = item
                request = response.get("UnprocessedKeys") or {}
            for key in chunk:
                self._known[key] = found.get(key, _ABSENT)
        return calls

    # ------------------------------------------------------------------ reads
    def get_item(self, **request: Any) -> dict[str, Any]:
        key = _key_of(request["Key"]) if request.get("TableName") == self._table else None
        if key is None or request.get("ProjectionExpression"):
            return dict(self._client.get_item(**request))
        if key not in self._known:
            answer = dict(self._client.get_item(**request))
            if self._in_batch:
                self._known[key] = answer.get("Item") or _ABSENT
            return answer
        item = self._known[key]
        return {} if item is _ABSENT else {"Item": item}

    def batch_get_item(self, RequestItems: Mapping[str, Any], **rest: Any) -> dict[str, Any]:
        ours = RequestItems.get(self._table)
        if not ours or ours.get("ProjectionExpression") or not self._known:
            return dict(self._client.batch_get_item(RequestItems=RequestItems, **rest))
        cached = [self._known[_key_of(key)] for key in ours["Keys"] if _key_of(key) in self._known]
        missing = [key for key in ours["Keys"] if _key_of(key) not in self._known]
        others = {table: spec for table, spec in RequestItems.items() if table != self._table}
        if missing:
            others[self._table] = {**ours, "Keys": missing}
        response: dict[str, Any] = {"Responses": {}, "UnprocessedKeys": {}}
        if others:
            response = dict(self._client.batch_get_item(RequestItems=others, **rest))
            response.setdefault("Responses", {})
            if missing and self._in_batch:
                unprocessed = {
                    _key_of(key) for key in (response.get("UnprocessedKeys") or {}).get(self._table, {}).get("Keys", [])
                }
                found = {_key_of(item): item for item in response["Responses"].get(self._table, [])}
                for key in map(_key_of, missing):
                    if key not in unprocessed:
                        self._known[key] = found.get(key, _ABSENT)
        response["Responses"][self._table] = [item for item in cached if item is not _ABSENT] + list(
            response["Responses"].get(self._table, [])
        )
        return response

    # ------------------------------------------------------------------ writes
    def _forget(self, keys: Iterable[Mapping[str, Any]]) -> None:
        for key in keys:
            if "pk" in key and "sk" in key:
                self._known.pop(_key_of(key), None)

    def put_item(self, **request: Any) -> Any:
        answer = self._write("put_item", request, [request.get("Item", {})])
        if request.get("TableName") == self._table:
            self._remember([request.get("Item") or {}])
        return answer

    def update_item(self, **request: Any) -> Any:
        return self._write("update_item", request, [request.get("Key", {})])

    def delete_item(self, **request: Any) -> Any:
        return self._write("delete_item", request, [request.get("Key", {})])

    def _write(self, operation: str, request: dict[str, Any], keys: Sequence[Mapping[str, Any]]) -> Any:
        try:
            return getattr(self._client, operation)(**request)
        finally:
            self._forget(keys)

    def batch_write_item(self, **request: Any) -> Any:
        keys = [
            (entry.get("PutRequest") or {}).get("Item") or (entry.get("DeleteRequest") or {}).get("Key") or {}
            for entry in request.get("RequestItems", {}).get(self._table, [])
        ]
        return self._write("batch_write_item", request, keys)

    def transact_write_items(self, **request: Any) -> Any:
        keys = []
        for action in request.get("TransactItems", []):
            for body in action.values():
                keys.append(body.get("Item") or body.get("Key") or {})
        answer = self._write("transact_write_items", request, keys)
        put = [
            action["Put"]["Item"]
            for action in request.get("TransactItems", [])
            if "Put" in action and action["Put"].get("TableName") == self._table
        ]
        self._remember(put)
        return answer

    def _remember(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Items just written whole, successfully: what a read of them would return (only during a batch)."""
        if not self._in_batch:
            return
        for item in items:
            if "pk" in item and "sk" in item:
                self._known[_key_of(item)] = dict(item)


def keys_of_events(events: Iterable[Any]) -> set[tuple[str, str]]:
    """The identifier items and suppression markers each canonical event will be resolved with (what
    ``DynamoDBProfileStore.read_graph`` asks for; a bus event's idempotency record is its timeline row, written
    conditionally, not read)."""
    from profiles.logic.resolution import event_identifiers

    keys: set[tuple[str, str]] = set()
    for event in events:
        for kind, value in event_identifiers(event):
            keys.add((identifier_pk(kind, value), ID_SK))
            keys.add((suppressed_pk(identifier_digest(kind, value)), SUPPRESSED_SK))
    return keys


def canonical_events_of(records: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The canonical events in an SQS batch of bus events, a bundle's too (``omnichannel.event_bus``); anything
    unreadable is left for the consumer to judge."""
    from pydantic import ValidationError

    from omnichannel.canonical_event import CanonicalEvent
    from omnichannel.event_bus import BUNDLE_DETAIL_TYPE

    details: list[Any] = []
    for record in records:
        try:
            envelope = json.loads(record.get("body") or "{}")
            detail = envelope.get("detail")
            if envelope.get("detail-type") == BUNDLE_DETAIL_TYPE and isinstance(detail, dict):
                details += [inner.get("detail") for inner in detail.get("events") or [] if isinstance(inner, dict)]
            else:
                details.append(detail)
        except (ValueError, AttributeError):
            continue
    events = []
    for detail in details:
        try:
            events.append(CanonicalEvent.model_validate(detail))
        except ValidationError:
            continue
    return events
