from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from capture.dal.event_store import DynamoDBEventStore
from capture.logic.capture_service import CaptureService, IncomingEvent
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


def test_stores_each_event_once_and_clears_the_outbox(store: DynamoDBEventStore, dynamodb: Any) -> None:
    # Given a service over the moto table and an in-memory bus
    bus = InMemoryPublisher()
    service = CaptureService(store, bus)
    batch = [_event(f"m{i}", anonymous_id=f"a{i}") for i in range(150)]
    # When the batch is captured twice (a client retry)
    first = service.capture(batch)
    second = service.capture(batch)
    # Then it was stored and published once, and the retry was recognised as duplicates
    assert len(first.stored) == 150
    assert len(second.stored) == 0
    assert len(second.duplicates) == 150
    assert len(bus.events) == 150
    assert len(_items(dynamodb, "events", "EVENT#")) == 150
    assert _items(dynamodb, "events", "OUTBOX#") == []


def test_partly_new_batch_stores_only_the_new(store: DynamoDBEventStore) -> None:
    bus = InMemoryPublisher()
    service = CaptureService(store, bus)
    service.capture([_event("m1", anonymous_id="a"), _event("m2", anonymous_id="a")])
    outcome = service.capture([_event("m2", anonymous_id="a"), _event("m3", anonymous_id="a")])
    assert [event.message_id for event in outcome.stored] == ["m3"]
    assert [event.message_id for event in outcome.duplicates] == ["m2"]
    assert len(bus.events) == 3


def test_same_event_twice_in_one_request_is_stored_once(store: DynamoDBEventStore) -> None:
    bus = InMemoryPublisher()
    outcome = CaptureService(store, bus).capture([_event("m1", user_id="u"), _event("m1", user_id="u")])
    assert len(outcome.stored) == 1
    assert len(outcome.duplicates) == 1
    assert len(bus.events) == 1


def test_events_of_an_identifier_newest_first_without_a_scan(store: DynamoDBEventStore) -> None:
    bus = InMemoryPublisher()
    CaptureService(store, bus).capture(
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
    CaptureService(store, InMemoryPublisher()).capture([incoming])
    assert store.get_event(incoming.event.event_id) == incoming.event
    [item] = _items(dynamodb, "events", "EVENT#")
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=30)).timestamp())
    assert item["raw"]["S"] == '{"raw": true}'
    assert item["id_phone"]["S"] == "+905321234567"


def test_unpublished_events_stay_in_the_outbox_until_the_relay_publishes_them(
    store: DynamoDBEventStore, dynamodb: Any
) -> None:
    # Given a bus that refuses two of three events
    batch = [_event(f"m{i}", user_id="u") for i in range(3)]
    failing = {batch[0].event.event_id, batch[2].event.event_id}
    outcome = CaptureService(store, InMemoryPublisher(fail_ids=failing)).capture(batch)
    # Then all three are stored and the two are left in the outbox
    assert len(outcome.stored) == 3
    assert sorted(outcome.unpublished) == sorted(failing)
    [entry] = _items(dynamodb, "events", "OUTBOX#")
    assert set(entry["event_ids"]["SS"]) == failing

    # When the relay runs within the grace period, it leaves in-flight entries alone
    healthy_bus = InMemoryPublisher()
    early = relay_outbox(store, healthy_bus, now=T0, grace=timedelta(seconds=60))
    assert early.entries == 0
    # When it runs after the grace period with the bus healthy again
    result = relay_outbox(store, healthy_bus, now=datetime.now(UTC) + timedelta(minutes=5), grace=timedelta(seconds=60))
    # Then exactly the two are published and the outbox is empty
    assert result.published == 2
    assert sorted(event.event_id for event in healthy_bus.events) == sorted(failing)
    assert _items(dynamodb, "events", "OUTBOX#") == []


def test_relay_keeps_what_still_fails(store: DynamoDBEventStore, dynamodb: Any) -> None:
    batch = [_event("m1", user_id="u")]
    ids = {batch[0].event.event_id}
    CaptureService(store, InMemoryPublisher(fail_ids=ids)).capture(batch)
    later = datetime.now(UTC) + timedelta(minutes=5)
    result = relay_outbox(store, InMemoryPublisher(fail_ids=ids), now=later, grace=timedelta(seconds=60))
    assert result.still_unpublished == 1
    assert len(_items(dynamodb, "events", "OUTBOX#")) == 1
