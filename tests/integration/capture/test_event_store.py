from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from capture.dal.event_store import DynamoDBEventStore
from capture.logic.capture_service import CaptureService, IncomingEvent, publish_or_park
from capture.logic.outbox_relay import relay_outbox
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.identifiers import IdentifierType

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


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


def test_events_of_an_identifier_newest_first_without_a_scan(store: DynamoDBEventStore) -> None:
    CaptureService(store).capture(
        [_event(f"m{i}", minutes=i, email="ayse@example.com", anonymous_id=f"a{i % 2}") for i in range(7)]
        + [_event("other", email="someone@example.com")]
    )
    first, next_key = store.events_of_identifier("email", "ayse@example.com", limit=4)
    rest, last_key = store.events_of_identifier("email", "ayse@example.com", limit=4, start=next_key)
    assert [event.message_id for event in first + rest] == [f"m{i}" for i in range(6, -1, -1)]
    assert last_key is None
    by_device, _ = store.events_of_identifier("anonymous_id", "a1")
    assert [event.message_id for event in by_device] == ["m5", "m3", "m1"]


def test_stored_event_round_trips_and_expires_by_ttl(store: DynamoDBEventStore, dynamodb: Any) -> None:
    incoming = _event("m1", user_id="u", phone="+905321234567")
    CaptureService(store).capture([incoming])
    assert store.get_event(incoming.event.event_id) == incoming.event
    [item] = _items(dynamodb, "events", "EVENT#")
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=30)).timestamp())
    assert item["raw"]["S"] == '{"raw": true}'
    assert item["id_phone"]["S"] == "+905321234567"


def test_parked_events_are_published_by_the_relay_after_the_grace_period(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given three stored events of which a failing bus refused two
    batch = [_event(f"m{i}", user_id="u") for i in range(3)]
    CaptureService(store).capture(batch)
    failing = {batch[0].event.event_id, batch[2].event.event_id}
    parked = publish_or_park(InMemoryPublisher(fail_ids=failing), store, [item.event for item in batch])
    # Then the two are parked in one outbox entry
    assert sorted(parked) == sorted(failing)
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


def test_relay_keeps_what_still_fails(store: DynamoDBEventStore, dynamodb: Any) -> None:
    batch = [_event("m1", user_id="u"), _event("m2", user_id="u")]
    CaptureService(store).capture(batch)
    ids = {item.event.event_id for item in batch}
    store.add_to_outbox(sorted(ids))
    still_failing = {batch[0].event.event_id}
    later = datetime.now(UTC) + timedelta(minutes=5)
    result = relay_outbox(store, InMemoryPublisher(fail_ids=still_failing), now=later, grace=timedelta(seconds=60))
    assert result.published == 1
    assert result.still_unpublished == 1
    [entry] = _items(dynamodb, "events", "OUTBOX#")
    assert set(entry["event_ids"]["SS"]) == still_failing
