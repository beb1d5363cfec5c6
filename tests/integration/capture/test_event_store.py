from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from capture import wiring
from capture.dal.event_store import DEAD_LETTER_PK, DynamoDBEventStore
from capture.dal.in_memory_store import InMemoryEventStore
from capture.handlers import schedule_outbox_relay
from capture.logic.capture_service import CaptureService, IncomingEvent, OutboxEntry, publish_or_park
from capture.logic.outbox_relay import MAX_RELAY_ATTEMPTS, relay_outbox
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.event_bus import BusEvent, InMemoryPublisher, PublishResult
from omnichannel.identifiers import IdentifierType
from tests.fakes import FakeLambdaContext

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
AnyStore = DynamoDBEventStore | InMemoryEventStore


def _event(message_id: str, minutes: int = 0, **identifiers: str) -> IncomingEvent:
    event = CanonicalEvent(
        event_id=event_id_for("test", message_id),
        message_id=message_id,
        source="test",
        type=EventType.TRACK,
        name="Product Added",
        channel=Channel.WEB,
        identifiers={IdentifierType(key): value for key, value in identifiers.items()},
        occurred_at=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
        properties={"price": 19.9, "tags": ["a", "b"]},
    )
    return IncomingEvent(event=event, raw='{"raw": true}')


def _items(dynamodb: Any, table: str, prefix: str) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


def test_stores_each_event_once(store: DynamoDBEventStore, dynamodb: Any) -> None:
    # Given a service over the moto table
    service = CaptureService(store)
    batch = [_event(f"m{i}", anonymous_id=f"a{i}") for i in range(150)]
    # When the batch is captured twice (a client retry)
    first = service.capture(batch)
    second = service.capture(batch)
    # Then it was stored once and the retry was recognised as duplicates
    assert len(first.stored) == 150
    assert len(second.stored) == 0
    assert len(second.duplicates) == 150
    assert len(_items(dynamodb, "events", "EVENT#")) == 150


def test_partly_new_batch_stores_only_the_new(store: DynamoDBEventStore) -> None:
    service = CaptureService(store)
    service.capture([_event("m1", anonymous_id="a"), _event("m2", anonymous_id="a")])
    outcome = service.capture([_event("m2", anonymous_id="a"), _event("m3", anonymous_id="a"), _event("m1")])
    assert [event.message_id for event in outcome.stored] == ["m3"]
    assert sorted(event.message_id for event in outcome.duplicates) == ["m1", "m2"]


def test_single_event_is_one_conditional_put(store: DynamoDBEventStore) -> None:
    service = CaptureService(store)
    assert len(service.capture([_event("m1", user_id="u")]).stored) == 1
    again = service.capture([_event("m1", user_id="u")])
    assert again.stored == []
    assert len(again.duplicates) == 1


def test_same_event_twice_in_one_request_is_stored_once(store: DynamoDBEventStore) -> None:
    outcome = CaptureService(store).capture([_event("m1", user_id="u"), _event("m1", user_id="u")])
    assert len(outcome.stored) == 1
    assert len(outcome.duplicates) == 1


def test_events_are_read_by_key_the_ones_asked_for_only(store: DynamoDBEventStore) -> None:
    # Given stored events of two customers (the table has no index: readers know the ids they want)
    CaptureService(store).capture(
        [_event(f"m{i}", minutes=i, email="ayse@example.com") for i in range(150)]
        + [_event("other", email="someone@example.com")]
    )
    wanted = [event_id_for("test", f"m{i}") for i in range(0, 150, 2)] + ["no-such-event"]
    # When a reader asks for some of them by id (more than one BatchGetItem takes)
    found = store.load_events(wanted)
    # Then it gets exactly those that exist
    assert sorted(event.message_id for event in found) == sorted(f"m{i}" for i in range(0, 150, 2))


def test_stored_event_round_trips_and_expires_by_ttl(store: DynamoDBEventStore, dynamodb: Any) -> None:
    incoming = _event("m1", user_id="u", phone="+905321234567")
    CaptureService(store).capture([incoming])
    assert store.get_event(incoming.event.event_id) == incoming.event
    [item] = _items(dynamodb, "events", "EVENT#")
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=30)).timestamp())
    # and the item is compact: its keys, the compressed canonical event, its expiry (no index attributes: no
    # identifier stored twice, no index written)
    assert set(item) == {"pk", "sk", "event", "expires_at"}
    assert "+905321234567" not in json.dumps(item, default=str)
    assert "B" in item["event"]


def test_parked_events_are_published_by_the_relay_after_the_grace_period(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given three stored events of which a failing bus refused two
    batch = [_event(f"m{i}", user_id="u") for i in range(3)]
    CaptureService(store).capture(batch)
    failing = {batch[0].event.event_id, batch[2].event.event_id}
    outcome = publish_or_park(InMemoryPublisher(fail_ids=failing), store, [item.event for item in batch])
    # Then the two are parked in one outbox entry
    assert sorted(outcome.parked) == sorted(failing)
    assert outcome.published == [batch[1].event.event_id]
    [entry] = _items(dynamodb, "events", "OUTBOX#")
    assert set(entry["event_ids"]["SS"]) == failing

    # When the relay runs within the grace period, it leaves the entry alone
    healthy_bus = InMemoryPublisher()
    early = relay_outbox(store, healthy_bus, now=datetime.now(UTC), grace=timedelta(seconds=60))
    assert early.entries == 0
    # When it runs after the grace period with the bus healthy again
    later = datetime.now(UTC) + timedelta(minutes=5)
    result = relay_outbox(store, healthy_bus, now=later, grace=timedelta(seconds=60))
    # Then exactly the two are published and the outbox is empty
    assert result.published == 2
    assert sorted(event.event_id for event in healthy_bus.events) == sorted(failing)
    assert _items(dynamodb, "events", "OUTBOX#") == []


def _due(entry: OutboxEntry) -> datetime:
    return datetime.fromisoformat(entry.sk.split("#")[0])


def test_relay_keeps_what_still_fails(store: DynamoDBEventStore, dynamodb: Any) -> None:
    batch = [_event("m1", user_id="u"), _event("m2", user_id="u")]
    CaptureService(store).capture(batch)
    ids = {item.event.event_id for item in batch}
    store.add_to_outbox(sorted(ids))
    still_failing = {batch[0].event.event_id}
    later = datetime.now(UTC) + timedelta(minutes=5)
    result = relay_outbox(store, InMemoryPublisher(fail_ids=still_failing), now=later, grace=GRACE)
    assert result.published == 1
    assert result.still_unpublished == 1
    [entry] = _items(dynamodb, "events", "OUTBOX#")
    assert set(entry["event_ids"]["SS"]) == still_failing
    # And it was moved forward: one failed attempt counted, not due again at once, due after a minute's backoff
    assert entry["attempts"]["N"] == "1"
    assert entry["sk"]["S"] > later.isoformat()
    assert relay_outbox(store, InMemoryPublisher(), now=later, grace=GRACE).entries == 0
    retried = relay_outbox(store, InMemoryPublisher(), now=later + timedelta(minutes=1, seconds=1) + GRACE, grace=GRACE)
    assert (retried.entries, retried.published) == (1, 1)
    assert _items(dynamodb, "events", "OUTBOX#") == []


# -- the outbox cannot be blocked: failing entries move forward, then to the dead-letter partition -----------


@pytest.fixture(params=["dynamodb", "in_memory"])
def outbox_store(request: pytest.FixtureRequest, dynamodb: Any, events_table: str) -> AnyStore:
    """Both stores with every outbox entry in one shard (the worst case for a blocked head)."""
    if request.param == "in_memory":
        return InMemoryEventStore()
    return DynamoDBEventStore(dynamodb, events_table, retention_days=30, outbox_shards=1)


class CountingBus(InMemoryPublisher):
    """The in-memory bus, counting how often each event was offered."""

    def __init__(self, fail_ids: set[str] | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(fail_ids=fail_ids, errors=errors)
        self.offered: dict[str, int] = {}

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        for event in events:
            self.offered[event.event_id] = self.offered.get(event.event_id, 0) + 1
        return super().publish(events)


def _hundred_failing_and_one_good(store: AnyStore) -> tuple[list[str], str]:
    batch = [_event(f"m{i}", user_id="u") for i in range(101)]
    CaptureService(store).capture(batch)
    failing = [item.event.event_id for item in batch[:100]]
    good = batch[100].event.event_id
    oldest = datetime.now(UTC) - timedelta(hours=1)
    for n, event_id in enumerate(failing):
        store.add_to_outbox([event_id], due=oldest + timedelta(seconds=n))
    store.add_to_outbox([good], due=oldest + timedelta(minutes=30))
    return failing, good


def test_a_later_good_entry_is_published_despite_100_always_failing_older_ones(outbox_store: AnyStore) -> None:
    # Given 100 outbox entries whose events the bus always refuses, and a later entry whose event it takes
    failing, good = _hundred_failing_and_one_good(outbox_store)
    bus = CountingBus(fail_ids=set(failing))
    # When the relay runs (the reviewer's five runs, one minute apart)
    now = datetime.now(UTC)
    runs = [relay_outbox(outbox_store, bus, now=now + timedelta(minutes=n), grace=GRACE) for n in range(5)]
    # Then the good one went out on the first run, and the failing ones were not offered again within their backoff
    assert runs[0].entries == 101
    assert [event.event_id for event in bus.events] == [good]
    assert runs[0].published == 1
    assert runs[0].still_unpublished == 100
    assert {bus.offered[event_id] for event_id in failing} == {2}  # runs 0 and 3: backoff and grace between


def test_a_small_run_budget_still_reaches_the_good_entry(outbox_store: AnyStore) -> None:
    # Given the same outbox, and a relay allowed only 30 entries a run
    failing, good = _hundred_failing_and_one_good(outbox_store)
    bus = CountingBus(fail_ids=set(failing))
    now = datetime.now(UTC)
    # When it runs four times within the same minute
    runs = [relay_outbox(outbox_store, bus, now=now, grace=GRACE, budget=30) for _ in range(4)]
    # Then each run took the next 30 (the failing ones moved forward out of the way) and the fourth got the good one
    assert [run.entries for run in runs] == [30, 30, 30, 11]
    assert [event.event_id for event in bus.events] == [good]
    assert set(bus.offered.values()) == {1}


def test_an_entry_that_keeps_failing_backs_off_then_is_dead_lettered(outbox_store: AnyStore) -> None:
    # Given one parked event the bus keeps refusing with a transient error
    incoming = _event("m1", user_id="u")
    CaptureService(outbox_store).capture([incoming])
    event_id = incoming.event.event_id
    start = datetime.now(UTC).replace(microsecond=0)  # the outbox keeps milliseconds
    outbox_store.add_to_outbox([event_id], due=start)
    bus = CountingBus(fail_ids={event_id})
    now = start + GRACE + timedelta(seconds=1)
    backoffs: list[timedelta] = []
    # When the relay runs each time the entry falls due
    for attempt in range(1, MAX_RELAY_ATTEMPTS + 1):
        result = relay_outbox(outbox_store, bus, now=now, grace=GRACE)
        assert result.entries == 1
        if attempt == MAX_RELAY_ATTEMPTS:
            break
        [entry] = outbox_store.due_outbox_entries(FAR_FUTURE)
        assert entry.attempts == attempt
        backoffs.append(_due(entry) - now)
        assert relay_outbox(outbox_store, bus, now=_due(entry), grace=GRACE).entries == 0  # not before its time
        now = _due(entry) + GRACE + timedelta(milliseconds=1)
    # Then the wait doubled from a minute up to an hour
    assert backoffs == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60)]
    # And after the twelfth attempt it sits in the dead-letter partition, which the relay no longer reads
    assert result.dead_lettered == {event_id: "InternalFailure"}
    assert outbox_store.due_outbox_entries(FAR_FUTURE) == []
    [dead] = outbox_store.dead_letters()
    assert (dead.pk, dead.event_ids, dead.attempts, dead.reason) == (
        DEAD_LETTER_PK,
        (event_id,),
        MAX_RELAY_ATTEMPTS,
        "InternalFailure",
    )
    assert relay_outbox(outbox_store, bus, now=now + timedelta(days=1), grace=GRACE).entries == 0
    assert bus.offered[event_id] == MAX_RELAY_ATTEMPTS


def test_a_permanently_refused_event_goes_straight_to_the_dead_letter_partition(outbox_store: AnyStore) -> None:
    # Given an outbox entry of two events, one of which the bus refuses as malformed
    batch = [_event("good", user_id="u"), _event("bad", user_id="u")]
    CaptureService(outbox_store).capture(batch)
    good, bad = (item.event.event_id for item in batch)
    outbox_store.add_to_outbox([good, bad], due=datetime.now(UTC) - timedelta(minutes=5))
    bus = CountingBus(errors={bad: "MalformedDetail"})
    # When the relay runs
    result = relay_outbox(outbox_store, bus, now=datetime.now(UTC), grace=GRACE)
    # Then the good one is published and the bad one is dead-lettered at once, with the bus's reason
    assert [event.event_id for event in bus.events] == [good]
    assert result.dead_lettered == {bad: "MalformedDetail"}
    assert outbox_store.due_outbox_entries(FAR_FUTURE) == []
    [dead] = outbox_store.dead_letters()
    assert (dead.event_ids, dead.reason, dead.attempts) == ((bad,), "MalformedDetail", 1)
    # And it is never offered again
    relay_outbox(outbox_store, bus, now=datetime.now(UTC) + timedelta(days=1), grace=GRACE)
    assert bus.offered[bad] == 1


def test_the_stream_publisher_dead_letters_what_the_bus_refuses_for_good(outbox_store: AnyStore) -> None:
    batch = [_event(f"m{i}", user_id="u") for i in range(3)]
    ids = [item.event.event_id for item in batch]
    outcome = publish_or_park(
        InMemoryPublisher(fail_ids={ids[0]}, errors={ids[1]: "EntryTooLarge"}),
        outbox_store,
        [item.event for item in batch],
    )
    assert (outcome.published, outcome.parked, outcome.dead_lettered) == ([ids[2]], [ids[0]], {ids[1]: "EntryTooLarge"})
    [parked] = outbox_store.due_outbox_entries(FAR_FUTURE)
    assert (parked.event_ids, parked.attempts) == ((ids[0],), 0)
    [dead] = outbox_store.dead_letters()
    assert (dead.event_ids, dead.reason, dead.attempts) == ((ids[1],), "EntryTooLarge", 0)


def test_an_event_stored_in_a_shape_the_reader_cannot_parse_is_dead_lettered(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given an outbox entry of two events, one stored in a shape this version cannot read
    batch = [_event("good", user_id="u"), _event("bad", user_id="u")]
    CaptureService(store).capture(batch)
    good, bad = (item.event.event_id for item in batch)
    dynamodb.update_item(
        TableName="events",
        Key={"pk": {"S": "EVENT#" + bad}, "sk": {"S": "EVENT"}},
        UpdateExpression="SET #e = :e",
        ExpressionAttributeNames={"#e": "event"},
        ExpressionAttributeValues={":e": {"S": '{"event_id": "' + bad + '", "type": "teleport"}'}},
    )
    store.add_to_outbox([good, bad], due=datetime.now(UTC) - timedelta(minutes=5))
    bus = InMemoryPublisher()
    # When the relay runs
    result = relay_outbox(store, bus, now=datetime.now(UTC), grace=GRACE)
    # Then the readable one is published and the other is dead-lettered, not retried forever
    assert [event.event_id for event in bus.events] == [good]
    assert result.dead_lettered == {bad: "Undecodable"}
    [dead] = store.dead_letters()
    assert dead.event_ids == (bad,)


def test_due_entries_are_read_page_by_page_within_the_budget(dynamodb: Any, events_table: str) -> None:
    # Given 250 due entries in one shard (more than one Query page)
    store = DynamoDBEventStore(dynamodb, events_table, outbox_shards=1)
    oldest = datetime.now(UTC) - timedelta(hours=1)
    for n in range(250):
        store.add_to_outbox([f"e{n:03d}"], due=oldest + timedelta(seconds=n))
    # Then all of them are read, oldest first, and no more than the budget
    assert [entry.event_ids for entry in store.due_outbox_entries(datetime.now(UTC), limit=1000)] == [
        (f"e{n:03d}",) for n in range(250)
    ]
    assert len(store.due_outbox_entries(datetime.now(UTC), limit=120)) == 120
    # And entries not yet due are left alone
    assert len(store.due_outbox_entries(oldest + timedelta(seconds=100), limit=1000)) == 100


def test_dead_letters_keep_their_reason_and_expire_with_the_events(store: DynamoDBEventStore, dynamodb: Any) -> None:
    store.dead_letter(["e1", "e2"], reason="EntryTooLarge", attempts=0)
    [item] = _items(dynamodb, "events", DEAD_LETTER_PK)
    assert item["pk"]["S"] == "OUTBOX#DEAD"
    assert set(item["event_ids"]["SS"]) == {"e1", "e2"}
    assert item["reason"]["S"] == "EntryTooLarge"
    assert int(item["expires_at"]["N"]) > int((datetime.now(UTC) + timedelta(days=29)).timestamp())


def test_the_relay_handler_counts_and_logs_what_it_dead_letters(
    store: DynamoDBEventStore, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a parked event the bus refuses for good
    incoming = _event("bad", user_id="u")
    CaptureService(store).capture([incoming])
    bad = incoming.event.event_id
    store.add_to_outbox([bad], due=datetime.now(UTC) - timedelta(minutes=5))
    wiring.override(publisher=InMemoryPublisher(errors={bad: "MalformedDetail"}), clock=lambda: datetime.now(UTC))
    wiring._wiring.store = store
    capfd.readouterr()
    try:
        answer = schedule_outbox_relay.lambda_handler({}, FakeLambdaContext(function_name="CaptureOutboxRelayFunction"))
    finally:
        wiring.reset()
    # Then it reports it, counts it for the alarm and logs it as an error, by id
    assert answer == {"entries": 1, "published": 0, "still_unpublished": 0, "dead_lettered": 1}
    metrics = next(json.loads(line) for line in capfd.readouterr().out.splitlines() if '"OutboxDeadLettered"' in line)
    assert metrics["OutboxDeadLettered"] == [1.0]
    [error] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert getattr(error, "event_ids", None) == [bad]
    assert [entry.reason for entry in store.dead_letters()] == ["MalformedDetail"]


def test_a_batch_is_stored_in_batch_requests_writing_only_the_new(store: DynamoDBEventStore, dynamodb: Any) -> None:
    # Given a batch of 130 events, 5 of them stored before (a client resending part of a batch)
    calls: list[str] = []
    reads: list[dict[str, Any]] = []
    dynamodb.meta.events.register("provide-client-params.dynamodb.*", lambda model, **_: calls.append(model.name))
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", lambda params, **_: reads.extend(params["RequestItems"].values())
    )
    batch = [_event(f"m{i}", user_id="u") for i in range(130)]
    CaptureService(store).capture(batch[:5])
    calls.clear()
    reads.clear()

    # When the whole batch arrives
    outcome = CaptureService(store).capture(batch)

    # Then the known ids were asked for in two BatchGetItems (100 keys each at most) and the 125 new events written
    # in five BatchWriteItems of 25 (never a transaction, which bills every item twice, nor a put per event)
    assert sorted(calls) == ["BatchGetItem"] * 2 + ["BatchWriteItem"] * 5
    # And the known ids were read strongly consistent (an id another request stored a moment ago is seen)
    assert [read["ConsistentRead"] for read in reads] == [True, True]
    assert sorted(event.message_id for event in outcome.stored) == sorted(f"m{i}" for i in range(5, 130))
    assert sorted(event.message_id for event in outcome.duplicates) == sorted(f"m{i}" for i in range(5))
    assert len(_items(dynamodb, "events", "EVENT#")) == 130


def test_a_batch_racing_another_with_the_same_new_event_reaches_the_stream_as_one_insert(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given two requests carrying the same new event, both past the "which ids are known" step before either wrote
    event = _event("raced", user_id="u")
    other = _event("other", user_id="u")
    stream_arn = dynamodb.describe_table(TableName="events")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    original = store._known_ids
    store._known_ids = lambda event_ids: set()  # type: ignore[method-assign]

    # When both write
    first = store.store_new([event, other])
    second = store.store_new([replace(event, event=event.event.model_copy(update={"received_at": T0 + GRACE})), other])
    store._known_ids = original  # type: ignore[method-assign]

    # Then the table holds it once, and the stream carries one INSERT for it (the publisher reads INSERTs only):
    # the second write is a MODIFY, so the bus gets the event once
    assert len(first.stored) == 2
    assert len(second.stored) == 2
    assert len(_items(dynamodb, "events", "EVENT#")) == 2
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    raced_key = {"S": "EVENT#" + event.event.event_id}
    kinds = [record["eventName"] for record in records if record["dynamodb"]["Keys"]["pk"] == raced_key]
    assert kinds.count("INSERT") == 1
    # And a later request with it again is answered as a duplicate
    assert [e.message_id for e in store.store_new([event, other]).duplicates] == ["raced", "other"]


def test_a_redacted_event_is_stored_compact_again_without_the_removed_identifiers(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given an event of a family tablet carrying two customers' identifiers, stored as items were while capture
    # kept identifier indexes (an ``occurred_at`` and one ``id_<type>`` attribute per identifier beside the event)
    incoming = _event("m-shared", anonymous_id="tablet-1", email="one@posta.com.tr", user_id="cus-2")
    store.store_new([incoming])
    key = {"pk": {"S": f"EVENT#{incoming.event.event_id}"}, "sk": {"S": "EVENT"}}
    dynamodb.update_item(
        TableName="events",
        Key=key,
        UpdateExpression="SET occurred_at = :t, id_anonymous_id = :a, id_email = :e, id_user_id = :u",
        ExpressionAttributeValues={
            ":t": {"S": "2026-11-23T12:00:00.000Z"},
            ":a": {"S": "tablet-1"},
            ":e": {"S": "one@posta.com.tr"},
            ":u": {"S": "cus-2"},
        },
    )
    assert store.get_event(incoming.event.event_id) == incoming.event  # an old item reads as any other
    # When the erasure keeps it for the other customer, the e-mail and the tablet's id taken out
    kept = incoming.event.model_copy(update={"identifiers": {IdentifierType.USER_ID: "cus-2"}})
    store.redact_event(kept)
    # Then the item holds the compact binary form (capture's one encoding), reads back as the kept event, and what
    # the old item held beside the event is gone with the identifiers
    [item] = _items(dynamodb, "events", "EVENT#")
    assert set(item["event"]) == {"B"}
    stored = store.get_event(kept.event_id)
    assert stored == kept
    assert stored is not None
    assert "one@posta.com.tr" not in stored.model_dump_json()
    assert set(item) == {"pk", "sk", "event", "expires_at"}
