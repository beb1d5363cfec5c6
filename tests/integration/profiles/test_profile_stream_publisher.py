"""The profiles table's stream becomes profile.* events on the bus, with stable ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from omnichannel.event_bus import InMemoryPublisher
from profiles import wiring
from profiles.handlers.stream_profiles import lambda_handler
from tests.fakes import FakeLambdaContext
from tests.support.moto_tables import stream_records
from tests.support.profiles_harness import PROFILES_TABLE, T0, make_event, profiles_in_moto


def publish(records: list[dict[str, Any]], bus: InMemoryPublisher) -> dict[str, Any]:
    wiring.override(publisher=bus)
    try:
        answer: dict[str, Any] = lambda_handler({"Records": records}, FakeLambdaContext())
    finally:
        wiring.reset()
    return answer


def test_created_updated_and_merged_are_announced_once_each_and_again_with_the_same_ids() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        first = resolver.resolve(make_event({"anonymous_id": "a1"}))
        env.clock[0] = T0 + timedelta(hours=1)
        resolver.resolve(make_event({"email": "x@posta.com.tr"}))
        resolver.resolve(make_event({"anonymous_id": "a1", "device_id": "d1"}))
        resolver.resolve(make_event({"anonymous_id": "a1", "email": "x@posta.com.tr"}))
        records = stream_records(env.client, PROFILES_TABLE)
        bus = InMemoryPublisher()
        assert publish(records, bus) == {"batchItemFailures": []}
        kinds = [event.detail_type for event in bus.events]
        assert kinds.count("profile.created") == 2
        assert kinds.count("profile.merged") == 1
        updated = [event.detail for event in bus.events if event.detail_type == "profile.updated"]
        assert {"device_id": ["d1"]} in [detail["added_identifiers"] for detail in updated]
        [merged] = [event.detail for event in bus.events if event.detail_type == "profile.merged"]
        assert merged["survivor_id"] == first.profile_id
        assert merged["moved_identifiers"] == {"email": ["x@posta.com.tr"]}
        # A retried stream batch publishes the same ids: consumers drop the repeat.
        again = InMemoryPublisher()
        publish(records, again)
        assert [event.event_id for event in again.events] == [event.event_id for event in bus.events]


def test_a_bus_failure_hands_the_batch_back_to_the_stream_from_the_first_failed_record() -> None:
    with profiles_in_moto() as env:
        env.resolver().resolve(make_event({"anonymous_id": "a1"}))
        records = stream_records(env.client, PROFILES_TABLE)
        probe = InMemoryPublisher()
        publish(records, probe)
        failing = InMemoryPublisher(fail_ids={probe.events[0].event_id})
        answer = publish(records, failing)
        [profile_record] = [r for r in records if r["dynamodb"]["NewImage"].get("kind", {}).get("S") == "profile"]
        assert answer["batchItemFailures"] == [{"itemIdentifier": profile_record["dynamodb"]["SequenceNumber"]}]


def test_bundled_profile_events_go_out_in_one_entry_and_a_failed_one_hands_the_batch_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUS_BUNDLING", "bundled")
    with profiles_in_moto() as env:
        # Given a stream batch announcing several profile events
        resolver = env.resolver()
        for n in range(5):
            resolver.resolve(make_event({"anonymous_id": f"a{n}"}))
        records = stream_records(env.client, PROFILES_TABLE)
        # When it is published, bundled
        bus = InMemoryPublisher()
        assert publish(records, bus) == {"batchItemFailures": []}
        # Then one bundle entry carries the five profile.created events, ids as they would have been alone
        [entry] = bus.events
        assert entry.detail_type == "bundle"
        assert entry.detail["kinds"] == ["profile.created"]
        ids = [inner["id"] for inner in entry.detail["events"]]
        assert len(ids) == 5
        assert all(inner["detail"]["event_id"] == inner["id"] for inner in entry.detail["events"])
        # And when the bus fails the bundle, the stream gets the batch back from the first record it announced
        answer = publish(records, InMemoryPublisher(fail_ids={ids[2]}))
        announcing = [r for r in records if r["dynamodb"]["NewImage"].get("kind", {}).get("S") == "profile"]
        assert answer["batchItemFailures"] == [{"itemIdentifier": announcing[0]["dynamodb"]["SequenceNumber"]}]
