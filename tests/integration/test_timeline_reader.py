"""The timeline through capture's identifier indexes: newest first, each event once, stable pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from omnichannel.canonical_event import CanonicalEvent, utc_iso
from omnichannel.identifiers import IdentifierType
from omnichannel.timeline_reader import BadCursor, TimelineReader
from tests.support.profiles_harness import EVENTS_TABLE, T0, make_event, profiles_in_moto


def store(client: object, event: CanonicalEvent) -> None:
    item = {
        "pk": {"S": f"EVENT#{event.event_id}"},
        "sk": {"S": "EVENT"},
        "occurred_at": {"S": utc_iso(event.occurred_at)},
        "event": {"S": json.dumps(event.to_bus_detail())},
        **{f"id_{kind.value}": {"S": value} for kind, value in event.identifiers.items()},
    }
    client.put_item(TableName=EVENTS_TABLE, Item=item)  # type: ignore[attr-defined]


def test_pages_walk_every_event_once_newest_first_even_when_many_share_a_millisecond() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        same_instant = T0 + timedelta(hours=1)
        events = [make_event({"anonymous_id": "a", "email": "x@posta.com.tr"}, at=same_instant) for _ in range(5)]
        events += [make_event({"anonymous_id": "a"}, at=T0 + timedelta(minutes=minute)) for minute in range(4)]
        events += [make_event({"email": "x@posta.com.tr"}, at=T0 + timedelta(hours=2, minutes=m)) for m in range(3)]
        events.append(make_event({"email": "someone@else.com.tr"}, at=T0))
        for event in events:
            store(env.client, event)
        reader = TimelineReader(env.client, EVENTS_TABLE)
        identifiers = [(IdentifierType.ANONYMOUS_ID, "a"), (IdentifierType.EMAIL, "x@posta.com.tr")]

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = reader.page(identifiers, limit=2, cursor=cursor)
            seen += [event.event_id for event in page.events]
            pages += 1
            cursor = page.cursor
            if cursor is None:
                break

        mine = [event for event in events if event.identifiers.get(IdentifierType.EMAIL) != "someone@else.com.tr"]
        expected = sorted(mine, key=lambda event: (utc_iso(event.occurred_at), event.event_id), reverse=True)
        assert seen == [event.event_id for event in expected]
        assert pages == 6


def test_a_page_ends_at_its_byte_budget_and_the_cursor_goes_on_from_there() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given five events of about 30 KB each
        events = [
            make_event({"anonymous_id": "big"}, at=T0 + timedelta(minutes=m), properties={"blob": "x" * 30_000})
            for m in range(5)
        ]
        for event in events:
            store(env.client, event)
        reader = TimelineReader(env.client, EVENTS_TABLE)

        # When pages of up to 200 events but at most 70 KB are read
        pages = []
        cursor = None
        while True:
            page = reader.page([(IdentifierType.ANONYMOUS_ID, "big")], limit=200, cursor=cursor, max_bytes=70_000)
            pages.append([event.event_id for event in page.events])
            cursor = page.cursor
            if cursor is None:
                break

        # Then each page holds two (the byte budget, not the count, ends it), and every event comes once, in order
        assert [len(page) for page in pages] == [2, 2, 1]
        newest_first = sorted(events, key=lambda event: event.occurred_at, reverse=True)
        assert [event_id for page in pages for event_id in page] == [event.event_id for event in newest_first]


def test_a_cursor_this_api_did_not_give_is_refused() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        reader = TimelineReader(env.client, EVENTS_TABLE)
        with pytest.raises(BadCursor):
            reader.page([(IdentifierType.ANONYMOUS_ID, "a")], limit=5, cursor="not-a-cursor")
