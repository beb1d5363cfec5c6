"""A profile's timeline: the events the profiles resolver decided are this profile's, newest first (read-only;
shared by the profiles API and the handoff context).

The resolver writes one row per event into the profiles table, under the profile the event resolved to
(``TL#<profile_id>``, sort key ``<occurred_at>#<event_id>``, ``ids``: the event's identifiers that profile held, as
``timeline_digest`` binaries; rows written before held the full hex digests, a string set, and are read alike). A
profile's timeline is its own partition plus those of the profiles merged into it; a merged profile's partition is
frozen (new events go to the survivor), so it is read only while its latest possible time can still reach the
page. A page is one Query (more only when merged partitions reach into it) and one BatchGetItem of the events from
capture's table: its cost does not grow with the identifiers a profile holds. Capture stores each event compact
(``omnichannel.stored_event``); the page decodes them with the same decoder.

Nothing of another profile shows: an event belongs to the profile the resolver chose, and identifiers of anyone
else it carries (a shared phone, a family tablet's device id) are taken out before it is returned. A customer's
own read passes ``visible``: only events that carry one of those identifiers (their customer id and what verified
links tie to it) are returned. A page also ends once its events hold ``MAX_PAGE_BYTES`` (an event may be 64 KB:
200 of them would be 12.8 MB, over Lambda's 6 MB answer); the cursor then continues where it ended.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType, identifier_digest
from omnichannel.redaction import without_identifiers
from omnichannel.stored_event import EVENT_ATTRIBUTE, decode_event

Position = tuple[str, str]  # (occurred_at, event_id): the timeline's order, newest first
Identifier = tuple[IdentifierType, str]
_BATCH_GET = 100
MAX_PAGE_BYTES = 1024 * 1024
_FILTER_TERMS = 50  # digests in one filter expression (a customer's verified identifiers: a handful)
TIMELINE_DIGEST_BYTES = 8  # 64 bits: told apart among the identifiers of one profile, at a quarter of the hex's size


def timeline_digest(digest: str) -> bytes:
    """A timeline row's form of an identifier's digest (``identifier_digest``): its first 64 bits, binary."""
    return bytes.fromhex(digest)[:TIMELINE_DIGEST_BYTES]


def row_digests(item: Mapping[str, Any]) -> set[bytes]:
    """The identifiers a timeline row holds, as ``timeline_digest`` (a row written before: full hex strings)."""
    ids = item.get("ids") or {}
    if "BS" in ids:
        return {bytes(value) for value in ids["BS"]}
    return {timeline_digest(value) for value in ids.get("SS", [])}


def row_event_id(item: Mapping[str, Any]) -> str:
    """The event a timeline row stands for: its sort key's part after the time."""
    return _position(str(item["sk"]["S"]))[1]


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class TimelinePage:
    events: list[CanonicalEvent]
    cursor: str | None


@dataclass(frozen=True)
class TimelineOwner:
    """Whose timeline: the profile, the profiles merged into it (id -> the latest time its partition can hold),
    the identifiers it holds now (anyone else's are taken out of the events) and, for a customer's own read, the
    identifiers that make an event theirs."""

    profile_id: str
    merged_spans: Mapping[str, str]
    identifiers: frozenset[Identifier]
    visible: frozenset[Identifier] | None = None


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


def _position(sort_key: str) -> Position:
    at, _, event_id = sort_key.partition("#")
    return at, event_id


class TimelineReader:
    def __init__(self, client: Any, profiles_table: str, events_table: str, *, default_region: str = "TR") -> None:
        self._client = client
        self._profiles = profiles_table
        self._events = events_table
        self._region = default_region

    def _rows(self, profile_id: str, before: Position | None, need: int, visible: list[str] | None) -> list[Position]:
        """Up to ``need`` timeline rows of one partition older than ``before``, newest first."""
        request: dict[str, Any] = {
            "TableName": self._profiles,
            "KeyConditionExpression": "pk = :pk" + (" AND sk < :before" if before else ""),
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TL#{profile_id}"},
                **({":before": {"S": f"{before[0]}#{before[1]}"}} if before else {}),
            },
            "ProjectionExpression": "sk",
            "ScanIndexForward": False,
            "Limit": need,
        }
        if visible is not None:  # either form of the digest: rows written before hold hex strings
            terms = [f"contains(ids, :d{number}) OR contains(ids, :b{number})" for number in range(len(visible))]
            request["FilterExpression"] = " OR ".join(terms)
            for number, digest in enumerate(visible):
                request["ExpressionAttributeValues"][f":d{number}"] = {"S": digest}
                request["ExpressionAttributeValues"][f":b{number}"] = {"B": timeline_digest(digest)}
        found: list[Position] = []
        while len(found) < need:
            response = self._client.query(**request)
            found += [_position(item["sk"]["S"]) for item in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:need]

    def _positions(self, owner: TimelineOwner, before: Position | None, need: int) -> list[Position]:
        visible = None
        if owner.visible is not None:
            visible = sorted(identifier_digest(*identifier) for identifier in owner.visible)[:_FILTER_TERMS]
            if not visible:
                return []
        found = {position[1]: position for position in self._rows(owner.profile_id, before, need, visible)}
        for merged_id, bound in sorted(owner.merged_spans.items(), key=lambda entry: entry[1], reverse=True):
            ordered = sorted(found.values(), reverse=True)
            if len(ordered) >= need and bound < ordered[need - 1][0]:
                break  # this partition (and every older one) holds nothing newer than the page's last row
            for position in self._rows(merged_id, before, need, visible):
                found.setdefault(position[1], position)
        return sorted(found.values(), reverse=True)[:need]

    def _load(self, event_ids: list[str]) -> dict[str, CanonicalEvent]:
        """The stored events by id (an event past its retention, or erased, is missing)."""
        loaded: dict[str, CanonicalEvent] = {}
        for start in range(0, len(event_ids), _BATCH_GET):
            request: dict[str, Any] = {
                self._events: {
                    "Keys": [
                        {"pk": {"S": f"EVENT#{eid}"}, "sk": {"S": "EVENT"}}
                        for eid in event_ids[start : start + _BATCH_GET]
                    ],
                    "ProjectionExpression": "pk, #e",
                    "ExpressionAttributeNames": {"#e": EVENT_ATTRIBUTE},
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._events, []):
                    loaded[item["pk"]["S"].removeprefix("EVENT#")] = decode_event(item)
                request = response.get("UnprocessedKeys") or {}
        return loaded

    def page(
        self, owner: TimelineOwner, *, limit: int, cursor: str | None = None, max_bytes: int = MAX_PAGE_BYTES
    ) -> TimelinePage:
        before = decode_cursor(cursor) if cursor else None
        positions = self._positions(owner, before, limit + 1)
        more = len(positions) > limit
        loaded = self._load([event_id for _, event_id in positions[:limit]])
        own = owner.identifiers
        events: list[CanonicalEvent] = []
        last: Position | None = None
        size = 0
        for position in positions[:limit]:
            event = loaded.get(position[1])
            if event is not None:  # else past its retention, or erased: gone from capture's table
                text_size = len(event.model_dump_json(exclude_none=True))
                if events and size + text_size > max_bytes:
                    more = True
                    break
                size += text_size
                events.append(
                    without_identifiers(event, lambda kind, value: (kind, value) in own, default_region=self._region)
                )
            last = position
        return TimelinePage(events, encode_cursor(last) if more and last else None)
