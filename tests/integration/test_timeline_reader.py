"""The timeline as the resolver decided it: newest first, each event once, stable pages, O(page) whatever the
identifiers, nothing of another profile."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from omnichannel.canonical_event import CanonicalEvent, EventType, utc_iso
from omnichannel.identifiers import IdentifierType
from omnichannel.timeline_reader import BadCursor, TimelineOwner, TimelineReader
from profiles.logic.unmerge import undo_merge
from tests.support.profiles_harness import (
    EVENTS_TABLE,
    PROFILES_TABLE,
    T0,
    ProfilesHarness,
    make_event,
    profiles_in_moto,
)


def store(client: object, event: CanonicalEvent) -> None:
    item = {
        "pk": {"S": f"EVENT#{event.event_id}"},
        "sk": {"S": "EVENT"},
        "occurred_at": {"S": utc_iso(event.occurred_at)},
        "event": {"S": json.dumps(event.to_bus_detail())},
        **{f"id_{kind.value}": {"S": value} for kind, value in event.identifiers.items()},
    }
    client.put_item(TableName=EVENTS_TABLE, Item=item)  # type: ignore[attr-defined]


def capture_and_resolve(env: ProfilesHarness, events: list[CanonicalEvent]) -> None:
    resolver = env.resolver()
    for event in events:
        store(env.client, event)
        resolver.resolve(event)


def owner_of(env: ProfilesHarness, kind: str, value: str, *, customer: bool = False) -> TimelineOwner:
    profile = env.store.owner_of((IdentifierType(kind), value))
    assert profile is not None
    return TimelineOwner(
        profile.profile_id,
        profile.merged_spans,
        frozenset(profile.identifier_pairs()),
        frozenset(profile.anchored()) if customer else None,
    )


def walk(reader: TimelineReader, owner: TimelineOwner, limit: int) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = reader.page(owner, limit=limit, cursor=cursor)
        seen += [event.event_id for event in page.events]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            return seen, pages


def test_pages_walk_every_event_once_newest_first_even_when_many_share_a_millisecond() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        same_instant = T0 + timedelta(hours=1)
        events = [make_event({"anonymous_id": "a", "email": "x@posta.com.tr"}, at=same_instant) for _ in range(5)]
        events += [make_event({"anonymous_id": "a"}, at=T0 + timedelta(minutes=minute)) for minute in range(4)]
        events += [make_event({"email": "x@posta.com.tr"}, at=T0 + timedelta(hours=2, minutes=m)) for m in range(3)]
        events.append(make_event({"email": "someone@else.com.tr"}, at=T0))
        capture_and_resolve(env, events)
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)

        seen, pages = walk(reader, owner_of(env, "email", "x@posta.com.tr"), limit=2)

        mine = [event for event in events if event.identifiers.get(IdentifierType.EMAIL) != "someone@else.com.tr"]
        expected = sorted(mine, key=lambda event: (utc_iso(event.occurred_at), event.event_id), reverse=True)
        assert seen == [event.event_id for event in expected]
        assert pages == 6


def test_merged_profiles_timelines_are_read_through_the_survivor_and_come_back_with_an_unmerge() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given a visitor's browsing and a customer's orders, each its own profile, then an event linking them
        visits = [make_event({"anonymous_id": "web-v"}, at=T0 + timedelta(minutes=m)) for m in range(3)]
        env.clock[0] = T0 + timedelta(hours=1)
        orders = [make_event({"email": "veli@posta.com.tr"}, at=T0 + timedelta(hours=1, minutes=m)) for m in range(3)]
        link = make_event({"anonymous_id": "web-v", "email": "veli@posta.com.tr"}, at=T0 + timedelta(hours=2))
        capture_and_resolve(env, [*visits, *orders, link])
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)
        owner = owner_of(env, "email", "veli@posta.com.tr")
        # Then the survivor's timeline holds all seven, newest first, in pages of any size
        everything = [link.event_id, *[e.event_id for e in reversed(orders)], *[e.event_id for e in reversed(visits)]]
        for limit in (1, 2, 7, 50):
            assert walk(reader, owner, limit)[0] == everything
        # When an admin undoes the merge, each profile has its own events again
        [merge] = env.store.merges_of(owner.profile_id)
        undo_merge(env.store, owner.profile_id, merge.merge_id, now=T0 + timedelta(hours=3))
        by_email = walk(reader, owner_of(env, "email", "veli@posta.com.tr"), 10)[0]
        by_visit = walk(reader, owner_of(env, "anonymous_id", "web-v"), 10)[0]
        assert set(by_email) | set(by_visit) == set(everything)
        assert set(by_email).isdisjoint(by_visit)
        assert {event.event_id for event in visits} <= set(by_visit)
        assert {event.event_id for event in orders} <= set(by_email)


def test_an_event_shows_without_another_profiles_identifiers_and_never_in_their_timeline() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given a family tablet: Ayşe signs in first, then her brother on the same device
        ayse = make_event({"user_id": "c-ayse", "anonymous_id": "tablet"}, kind=EventType.IDENTIFY)
        mehmet = make_event(
            {"user_id": "c-mehmet", "anonymous_id": "tablet", "email": "mehmet@posta.com.tr"},
            kind=EventType.IDENTIFY,
            traits={"email": "mehmet@posta.com.tr"},
        )
        order = make_event({"user_id": "c-mehmet", "anonymous_id": "tablet"}, name="Order Completed")
        capture_and_resolve(env, [ayse, mehmet, order])
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)
        # Then Ayşe's timeline has only her sign-in; Mehmet's has his, without the tablet Ayşe's profile holds
        hers = reader.page(owner_of(env, "user_id", "c-ayse"), limit=10).events
        his = reader.page(owner_of(env, "user_id", "c-mehmet"), limit=10).events
        assert [event.event_id for event in hers] == [ayse.event_id]
        assert [event.event_id for event in his] == [order.event_id, mehmet.event_id]
        assert all(IdentifierType.ANONYMOUS_ID not in event.identifiers for event in his)


def test_a_page_ends_at_its_byte_budget_and_the_cursor_goes_on_from_there() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given five events of about 30 KB each
        events = [
            make_event({"anonymous_id": "big"}, at=T0 + timedelta(minutes=m), properties={"blob": "x" * 30_000})
            for m in range(5)
        ]
        capture_and_resolve(env, events)
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)
        owner = owner_of(env, "anonymous_id", "big")

        # When pages of up to 200 events but at most 70 KB are read
        pages = []
        cursor = None
        while True:
            page = reader.page(owner, limit=200, cursor=cursor, max_bytes=70_000)
            pages.append([event.event_id for event in page.events])
            cursor = page.cursor
            if cursor is None:
                break

        # Then each page holds two (the byte budget, not the count, ends it), and every event comes once, in order
        assert [len(page) for page in pages] == [2, 2, 1]
        newest_first = sorted(events, key=lambda event: event.occurred_at, reverse=True)
        assert [event_id for page in pages for event_id in page] == [event.event_id for event in newest_first]


def test_a_page_costs_one_query_and_one_batch_read_however_many_identifiers() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given a customer who signed in from 60 browsers, and one event since
        resolver = env.resolver()
        for number in range(60):
            resolver.resolve(make_event({"user_id": "c-1", "anonymous_id": f"browser-{number}"}))
        latest = make_event({"user_id": "c-1"}, name="Order Completed")
        capture_and_resolve(env, [latest])
        owner = owner_of(env, "user_id", "c-1")
        calls: list[str] = []
        env.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
        # When a page of one event is read
        page = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE).page(owner, limit=1)
        # Then one Query and one BatchGetItem
        assert [event.event_id for event in page.events] == [latest.event_id]
        assert calls.count("Query") == 1
        assert calls.count("BatchGetItem") == 1


def test_a_cursor_this_api_did_not_give_is_refused() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)
        owner = TimelineOwner("p", {}, frozenset())
        with pytest.raises(BadCursor):
            reader.page(owner, limit=5, cursor="not-a-cursor")
