"""A profile's timeline, read from capture's events table through its identifier indexes (read-only; shared by the
profiles API and the handoff context).

A merge never rewrites stored events: the timeline of a profile is every event carrying any of its identifiers,
newest first. Each identifier's index (``by_<type>``, range key ``occurred_at``) is read newest first, one page at
a time and only as far as needed; the streams are merged, an event carrying several of the profile's
identifiers shows once. The indexes hold keys only: the page's events are then read with one ``BatchGetItem``. The
cursor is the position of the last event returned (``occurred_at``, ``event_id``), so a page costs about one Query
per identifier and one BatchGetItem however long the history is. A page also ends once its events hold
``MAX_PAGE_BYTES`` (an event may be 64 KB: 200 of them would be 12.8 MB, over Lambda's 6 MB answer); the cursor
then continues where it ended.
"""

from __future__ import annotations

import base64
import heapq
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType
from omnichannel.stored_event import EVENT_ATTRIBUTE, decode_event

Position = tuple[str, str]  # (occurred_at, event_id): the timeline's order, newest first
MAX_PAGE_BYTES = 1024 * 1024


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class TimelinePage:
    events: list[CanonicalEvent]
    cursor: str | None


def encode_cursor(position: Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, event_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this API gave") from exc
    if not isinstance(at, str) or not isinstance(event_id, str):
        raise BadCursor("cursor is not one this API gave")
    return at, event_id


class TimelineReader:
    def __init__(self, client: Any, events_table: str, *, parallel: int = 8) -> None:
        self._client = client
        self._table = events_table
        self._parallel = max(1, parallel)

    def _query(self, kind: IdentifierType, value: str, before: Position | None, limit: int, start: Any) -> Any:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": f"by_{kind.value}",
            "KeyConditionExpression": "#id = :value" + (" AND occurred_at <= :at" if before else ""),
            "ExpressionAttributeNames": {"#id": f"id_{kind.value}"},
            "ExpressionAttributeValues": {":value": {"S": value}, **({":at": {"S": before[0]}} if before else {})},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        return self._client.query(**request)

    def _stream(
        self, kind: IdentifierType, value: str, before: Position | None, limit: int, first: Any
    ) -> Iterator[tuple[Position, dict[str, Any]]]:
        """One identifier's events after ``before`` (exclusive), newest first, paging lazily. The index orders by
        ``occurred_at`` only, so events of the same millisecond are held back and given out by event id."""
        response = first
        tied: list[tuple[Position, dict[str, Any]]] = []
        while True:
            for item in response.get("Items", []):
                position = (item["occurred_at"]["S"], item["pk"]["S"].removeprefix("EVENT#"))
                if before is not None and position >= before:
                    continue
                if tied and tied[0][0][0] != position[0]:
                    yield from sorted(tied, key=lambda entry: entry[0], reverse=True)
                    tied = []
                tied.append((position, item))
            start = response.get("LastEvaluatedKey")
            if not start:
                yield from sorted(tied, key=lambda entry: entry[0], reverse=True)
                return
            response = self._query(kind, value, before, limit, start)

    def page(
        self,
        identifiers: Sequence[tuple[IdentifierType, str]],
        *,
        limit: int,
        cursor: str | None = None,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> TimelinePage:
        before = decode_cursor(cursor) if cursor else None
        per_query = limit + 1
        # The first page of every identifier in parallel (I/O bound); later pages only where needed.
        with ThreadPoolExecutor(max_workers=min(self._parallel, max(1, len(identifiers)))) as pool:
            firsts = list(pool.map(lambda ident: self._query(ident[0], ident[1], before, per_query, None), identifiers))
        streams = [
            self._stream(kind, value, before, per_query, first)
            for (kind, value), first in zip(identifiers, firsts, strict=True)
        ]
        merged = heapq.merge(*streams, key=lambda entry: entry[0], reverse=True)
        chosen: list[str] = []
        last: Position | None = None
        more = False
        positions: list[Position] = []
        for position, _item in merged:
            if position[1] in chosen:
                continue
            if len(chosen) == limit:
                more = True
                break
            chosen.append(position[1])
            positions.append(position)
        found = self._events(chosen)
        events: list[CanonicalEvent] = []
        size = 0
        for position in positions:
            stored = found.get(position[1])
            if stored is None:
                continue  # erased since the index was read
            text_size = len(stored.model_dump_json(exclude_none=True))
            if events and size + text_size > max_bytes:
                more = True
                break
            events.append(stored)
            size += text_size
            last = position
        return TimelinePage(events, encode_cursor(last) if more and last else None)

    def _events(self, event_ids: Sequence[str]) -> dict[str, CanonicalEvent]:
        """The stored events of a page (an id erased meanwhile is simply absent)."""
        found: dict[str, CanonicalEvent] = {}
        for start in range(0, len(event_ids), 100):
            keys = [
                {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}} for event_id in event_ids[start : start + 100]
            ]
            request: dict[str, Any] = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "#e",
                    "ExpressionAttributeNames": {"#e": EVENT_ATTRIBUTE},
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    event = decode_event(item)
                    found[event.event_id] = event
                request = response.get("UnprocessedKeys") or {}
        return found
