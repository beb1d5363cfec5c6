"""What resolving an event writes to the profiles table (issue 14: scale and cost), and that the timeline row as
the idempotency record keeps resolution exact: the same event twice, at once, or after a merge, changes nothing."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from omnichannel.canonical_event import CanonicalEvent, EventType, utc_iso
from omnichannel.identifiers import IdentifierType, Provenance, identifier_digest
from omnichannel.timeline_reader import TIMELINE_DIGEST_BYTES, TimelineOwner, TimelineReader, timeline_digest
from profiles.handlers.bus_batch import in_order_of_occurrence
from profiles.logic.resolver_service import Outcome, Resolution
from profiles.logic.unmerge import undo_merge
from tests.support.profiles_harness import (
    EVENTS_TABLE,
    PROFILES_TABLE,
    T0,
    ProfilesHarness,
    make_event,
    profiles_in_moto,
)

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
Write = tuple[str, dict[str, Any]]


def _size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (as documented: strings and binaries by their bytes, numbers by
    their digits, containers 3 bytes plus their elements)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        return (len(str(data).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(_size(item) + 1 for item in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + _size(item) + 1 for name, item in data.items())
    return len(json.dumps(data))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _size(value) for name, value in item.items())


@contextmanager
def recorded_writes(env: ProfilesHarness) -> Iterator[list[Write]]:
    """The write requests made while the block runs (operation, parameters)."""
    writes: list[Write] = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WRITES:
            writes.append((model.name, params))

    env.client.meta.events.register("provide-client-params.dynamodb.*", note)
    try:
        yield writes
    finally:
        env.client.meta.events.unregister("provide-client-params.dynamodb.*", note)


def transaction_keys(params: dict[str, Any]) -> list[str]:
    """``pk`` of each item a TransactWriteItems request writes, in order."""
    keys = []
    for action in params["TransactItems"]:
        (body,) = action.values()
        keys.append((body.get("Item") or body.get("Key"))["pk"]["S"])
    return keys


def timeline_rows(env: ProfilesHarness) -> list[dict[str, Any]]:
    return [item for item in env.scan() if item["pk"]["S"].startswith("TL#")]


def test_a_known_visitors_page_view_costs_one_write_of_at_most_a_kilobyte() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        context = {"campaign": {"source": "google", "medium": "cpc", "name": "kis-indirimi"}}
        # Given a known visitor (signed in: a device id, a customer id, an e-mail and their traits)
        identifiers = {"anonymous_id": "0b0e7a52-0000-4000-8000-000000000001", "user_id": "cus-000001"}
        login = {**identifiers, "email": "musteri.1@örnek.com.tr"}
        resolver.resolve(make_event(login, kind=EventType.IDENTIFY, traits={"name": "Müşteri 1"}, context=context))
        # When they view a page a minute later
        with recorded_writes(env) as writes:
            view = resolver.resolve(make_event(identifiers, name="Product Viewed", context=context))
        # Then one PutItem, the event's timeline row, on condition it is not there yet, under a kilobyte
        assert view.outcome is Outcome.UNCHANGED
        [(operation, params)] = writes
        assert operation == "PutItem"
        assert params["Item"]["pk"]["S"] == f"TL#{view.profile_id}"
        assert params["ConditionExpression"] == "attribute_not_exists(pk)"
        assert item_size(params["Item"]) <= 1024
        # and no item of the table says "resolved" (the timeline rows are the record)
        assert not [item for item in env.scan() if item["pk"]["S"].startswith("EVENT#")]


def test_a_timeline_row_holds_its_keys_expiry_and_the_identifiers_as_64_bit_digests_only() -> None:
    with profiles_in_moto() as env:
        event = make_event({"anonymous_id": "web-1", "user_id": "cus-1"})
        env.resolver().resolve(event)
        [row] = timeline_rows(env)
        assert set(row) == {"pk", "sk", "expires_at", "ids"}
        assert row["sk"]["S"] == f"{utc_iso(event.occurred_at)}#{event.event_id}"
        wanted = {timeline_digest(identifier_digest(kind, value)) for kind, value in event.identifiers.items()}
        assert set(row["ids"]["BS"]) == wanted
        assert all(len(digest) == TIMELINE_DIGEST_BYTES for digest in row["ids"]["BS"])
        assert item_size(row) <= 160


def test_a_new_visitor_costs_one_transaction_without_the_row_and_the_row_alone() -> None:
    with profiles_in_moto() as env:
        with recorded_writes(env) as writes:
            created = env.resolver().resolve(make_event({"anonymous_id": "web-1"}))
        assert created.outcome is Outcome.CREATED
        # The created profile (its id derives from the event's) is the record: the row costs half alone
        assert [operation for operation, _ in writes] == ["TransactWriteItems", "PutItem"]
        [(_, transaction), (_, row)] = writes
        assert transaction_keys(transaction) == [f"PROFILE#{created.profile_id}", "ID#anonymous_id#web-1"]
        assert row["Item"]["pk"]["S"] == f"TL#{created.profile_id}"


def test_a_change_costs_its_transaction_and_the_row_alone() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        visitor = resolver.resolve(make_event({"anonymous_id": "web-1"}))
        with recorded_writes(env) as writes:
            login = resolver.resolve(make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"}))
        assert login.outcome is Outcome.UPDATED
        assert [operation for operation, _ in writes] == ["TransactWriteItems", "PutItem"]
        [(_, transaction), (_, row)] = writes
        assert transaction_keys(transaction) == [f"PROFILE#{visitor.profile_id}", "ID#email#ayse@posta.com.tr"]
        assert row["Item"]["pk"]["S"] == f"TL#{visitor.profile_id}"
        assert row["ConditionExpression"] == "attribute_not_exists(pk)"


def test_a_change_that_records_a_conflict_writes_its_row_first_in_its_transaction() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        ayse = resolver.resolve(make_event({"anonymous_id": "tablet", "user_id": "cust-1"}))
        resolver.resolve(make_event({"user_id": "cust-2"}))
        # A conflict is recorded per event: resolving the event again must not record it again
        with recorded_writes(env) as writes:
            tablet = resolver.resolve(make_event({"anonymous_id": "tablet", "user_id": "cust-2"}))
        assert tablet.conflicts == 1
        # the tablet's anonymous id stays cust-1's: a cross-reference for its erasure goes first (before the commit)
        (reference_op, reference), (operation, transaction), *after = writes
        assert reference_op == "BatchWriteItem"
        [[_table, requests]] = reference["RequestItems"].items()
        assert [request["PutRequest"]["Item"]["pk"]["S"][:5] for request in requests] == ["XREF#"]
        assert operation == "TransactWriteItems"
        assert transaction_keys(transaction)[0] == f"TL#{tablet.profile_id}"
        assert [name for name, _ in after] == ["UpdateItem"]  # the tablet's id tried by another profile, no row
        assert transaction["TransactItems"][0]["Put"]["ConditionExpression"] == "attribute_not_exists(pk)"
        assert tablet.profile_id != ayse.profile_id


def test_every_kind_of_event_resolved_again_is_a_duplicate_that_writes_nothing_new() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        created = make_event({"anonymous_id": "web-1"})
        unchanged = make_event({"anonymous_id": "web-1"})
        updated = make_event({"anonymous_id": "web-1", "user_id": "cust-1"}, traits={"name": "Ayşe"})
        other = make_event({"user_id": "cust-2"})
        conflict = make_event({"anonymous_id": "web-1", "user_id": "cust-2"})
        events = (created, unchanged, updated, other, conflict)
        first = [resolver.resolve(event).outcome for event in events]
        before = env.scan()
        again = [resolver.resolve(event).outcome for event in events]
        assert first == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.UPDATED, Outcome.CREATED, Outcome.UPDATED]
        assert again == [Outcome.DUPLICATE] * 5
        assert env.scan() == before
        assert len(timeline_rows(env)) == 5


def race(env: ProfilesHarness, event: CanonicalEvent, copies: int = 12) -> list[Resolution]:
    barrier = threading.Barrier(copies)
    resolver = env.resolver()

    def run(_: int) -> Resolution:
        barrier.wait()
        return resolver.resolve(event)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(run, range(copies)))


def test_the_same_change_delivered_to_many_resolvers_at_once_is_made_once() -> None:
    with profiles_in_moto() as env:
        visitor = env.resolver().resolve(make_event({"anonymous_id": "web-1"}))
        login = make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"}, traits={"name": "Ayşe"})
        results = race(env, login)
        outcomes = sorted(result.outcome.value for result in results)
        # Made once; a copy that lost the race reads the change made and finds nothing to do: a duplicate, or
        # unchanged when it wrote the row before the winner could (the winner's row then finds it there)
        assert outcomes.count("updated") == 1
        assert set(outcomes) <= {"updated", "duplicate", "unchanged"}
        [profile] = env.root_profiles()
        assert profile["version"]["N"] == "2"  # created, then this one change
        assert [row["sk"]["S"].endswith(login.event_id) for row in timeline_rows(env)].count(True) == 1
        assert {result.profile_id for result in results if result.profile_id} == {visitor.profile_id}


def test_an_event_resolved_before_its_profile_was_merged_is_a_duplicate_after() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        # Given a visitor (the older profile) and a customer's e-mail profile with two events of its own
        resolver.resolve(make_event({"anonymous_id": "web-1"}, at=T0))
        env.clock[0] = T0 + timedelta(hours=1)
        created = make_event({"email": "ayse@posta.com.tr"}, at=T0 + timedelta(hours=1))
        opened = make_event({"email": "ayse@posta.com.tr"}, at=T0 + timedelta(hours=1, minutes=1))
        newer = [resolver.resolve(event) for event in (created, opened)]
        # and the login that merges the e-mail's profile into the visitor's
        login = make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"}, at=T0 + timedelta(hours=2))
        merged = resolver.resolve(login)
        assert merged.outcome is Outcome.MERGED
        assert merged.merged_ids == (newer[0].profile_id,)
        before = env.scan()
        # When both of the e-mail profile's events come again (their rows are in its frozen partition)
        again = [resolver.resolve(event).outcome for event in (created, opened)]
        # Then they are duplicates: nothing written, no second row under the survivor
        assert again == [Outcome.DUPLICATE, Outcome.DUPLICATE]
        assert env.scan() == before


def test_events_in_the_order_they_occurred_write_the_profile_once() -> None:
    with profiles_in_moto() as env:
        # Given a request's ten page views (capture gives them one time; their ids decide which is first)
        at = T0 + timedelta(minutes=5)
        session = [make_event({"anonymous_id": "web-1"}, at=at, name="Product Viewed") for _ in range(10)]
        records = [
            {"messageId": str(number), "body": json.dumps({"detail": event.to_bus_detail()})}
            for number, event in enumerate(session)
        ]
        random.Random(14).shuffle(records)
        ordered = in_order_of_occurrence([*records, {"messageId": "bad", "body": "not json"}])
        assert ordered[0]["messageId"] == "bad"
        events = [session[int(record["messageId"])] for record in ordered[1:]]
        assert [event.event_id for event in events] == sorted(event.event_id for event in session)
        # When they are resolved in that order
        with recorded_writes(env) as writes:
            outcomes = [env.resolver().resolve(event).outcome for event in events]
        # Then the first creates the profile, the others only add their timeline rows
        assert outcomes == [Outcome.CREATED] + [Outcome.UNCHANGED] * 9
        assert [operation for operation, _ in writes] == ["TransactWriteItems"] + ["PutItem"] * 10
        [profile] = env.root_profiles()
        assert json.loads(profile["first_touch"]["S"])["e"] == events[0].event_id


def _as_written_before(env: ProfilesHarness) -> None:
    """Every timeline row as the resolver wrote it before slimming: kind, event id, full hex digests."""
    for row in timeline_rows(env):
        digests = {digest.hex() for digest in row["ids"]["BS"]}
        full = {
            identifier_digest(kind, value)
            for kind in IdentifierType
            for value in ("web-v", "veli@posta.com.tr", "c-veli")
            if identifier_digest(kind, value)[: 2 * TIMELINE_DIGEST_BYTES] in digests
        }
        event_id = row["sk"]["S"].partition("#")[2]
        old = {**row, "kind": {"S": "timeline"}, "event_id": {"S": event_id}, "ids": {"SS": sorted(full)}}
        env.client.put_item(TableName=PROFILES_TABLE, Item=old)


def test_rows_written_before_are_read_filtered_and_moved_as_the_new_ones() -> None:
    with profiles_in_moto(with_events_table=True) as env:
        # Given a visitor, a customer's own events, an asserted login merging them and an e-mail after it
        visits = [make_event({"anonymous_id": "web-v"}, at=T0 + timedelta(minutes=m)) for m in range(2)]
        mine = make_event({"user_id": "c-veli", "email": "veli@posta.com.tr"}, at=T0 + timedelta(hours=1))
        link = make_event(
            {"anonymous_id": "web-v", "email": "veli@posta.com.tr"},
            at=T0 + timedelta(hours=2),
            provenance=Provenance.ASSERTED,
        )
        later = make_event({"email": "veli@posta.com.tr"}, at=T0 + timedelta(hours=2, minutes=30))
        resolver = env.resolver()
        for event in [*visits, mine, link, later]:
            env.clock[0] = event.occurred_at
            item = {
                "pk": {"S": f"EVENT#{event.event_id}"},
                "sk": {"S": "EVENT"},
                "occurred_at": {"S": utc_iso(event.occurred_at)},
                "event": {"S": json.dumps(event.to_bus_detail())},
            }
            env.client.put_item(TableName=EVENTS_TABLE, Item=item)
            resolver.resolve(event)
        # whose timeline rows are all as the resolver wrote them before
        _as_written_before(env)
        assert all("SS" in row["ids"] for row in timeline_rows(env))
        reader = TimelineReader(env.client, PROFILES_TABLE, EVENTS_TABLE)
        survivor = env.store.owner_of((IdentifierType.USER_ID, "c-veli"))
        assert survivor is not None
        # Then a customer's own read still keeps to the events carrying their verified identifiers
        own = TimelineOwner(
            survivor.profile_id,
            survivor.merged_spans,
            frozenset(survivor.identifier_pairs()),
            frozenset(survivor.anchored()),
        )
        assert [event.event_id for event in reader.page(own, limit=10).events] == [
            later.event_id,
            link.event_id,
            mine.event_id,
        ]
        # and an unmerge moves the customer's row back from the survivor as it moves new ones
        [merge] = env.store.merges_of(survivor.profile_id)
        undo_merge(env.store, survivor.profile_id, merge.merge_id, now=T0 + timedelta(hours=3))
        timelines = {}
        for kind, value in ((IdentifierType.USER_ID, "c-veli"), (IdentifierType.ANONYMOUS_ID, "web-v")):
            profile = env.store.owner_of((kind, value))
            assert profile is not None
            owner = TimelineOwner(profile.profile_id, profile.merged_spans, frozenset(profile.identifier_pairs()))
            timelines[value] = {event.event_id for event in reader.page(owner, limit=10).events}
        assert timelines["c-veli"] == {mine.event_id, later.event_id}
        assert timelines["web-v"] == {event.event_id for event in [*visits, link]}


def test_a_bundles_events_are_put_in_the_order_they_occurred() -> None:
    # Given a session's events in two bundles, each out of order, and a single event between them
    at = T0 + timedelta(minutes=5)
    session = [make_event({"anonymous_id": "web-1"}, at=at + timedelta(seconds=n)) for n in range(6)]

    def bundle(message_id: str, events: list[CanonicalEvent]) -> dict[str, Any]:
        inner = [{"id": e.event_id, "detail-type": e.name or "page", "detail": e.to_bus_detail()} for e in events]
        body = {"detail-type": "bundle", "source": "omnichannel.capture", "detail": {"kinds": [], "events": inner}}
        return {"messageId": message_id, "body": json.dumps(body), "md5OfBody": "stale"}

    single = {"messageId": "single", "body": json.dumps({"detail": session[2].to_bus_detail()})}
    records = [bundle("late", [session[5], session[3]]), single, bundle("early", [session[4], session[0], session[1]])]
    # When the resolver's handler orders them
    ordered = in_order_of_occurrence(records)
    # Then each bundle's events are in order, and the bundles are placed by their first event
    assert [record["messageId"] for record in ordered] == ["early", "single", "late"]
    early = json.loads(ordered[0]["body"])["detail"]["events"]
    assert [inner["id"] for inner in early] == [session[0].event_id, session[1].event_id, session[4].event_id]
    late = json.loads(ordered[2]["body"])["detail"]["events"]
    assert [inner["id"] for inner in late] == [session[3].event_id, session[5].event_id]
    assert "md5OfBody" not in ordered[0]  # the body was rewritten
    assert ordered[1] is single  # a single event's record is left as it came


def test_odd_stamps_in_a_bundle_neither_crash_the_ordering_nor_drop_an_event() -> None:
    # Given a bundle whose events carry a year-1 time, a time without a zone, a non-text time, no detail at all and
    # text that is not an event (what a hostile or broken publisher could put there)
    good = make_event({"anonymous_id": "web-1"}, at=T0)
    odd: list[Any] = [
        {"id": "year-one", "detail": {**good.to_bus_detail(), "occurred_at": "0001-01-01T00:00:00", "event_id": "y"}},
        {"id": "nan", "detail": {**good.to_bus_detail(), "occurred_at": float("nan"), "event_id": "n"}},
        {"id": "no-detail"},
        "not an event",
        {"id": good.event_id, "detail": good.to_bus_detail()},
    ]
    body = {"detail-type": "bundle", "source": "omnichannel.capture", "detail": {"kinds": [], "events": odd}}
    records = [{"messageId": "b", "body": json.dumps(body)}, {"messageId": "junk", "body": b"\xff\xfe".hex()}]
    # When the resolver's handler orders them
    ordered = in_order_of_occurrence(records)
    # Then nothing is lost or raised: unreadable ones first, the year-1 event before the real one
    assert sorted(record["messageId"] for record in ordered) == ["b", "junk"]
    inner = json.loads(next(r for r in ordered if r["messageId"] == "b")["body"])["detail"]["events"]
    assert len(inner) == len(odd)
    ids = [item.get("id") if isinstance(item, dict) else item for item in inner]
    assert ids.index("year-one") < ids.index(good.event_id)
