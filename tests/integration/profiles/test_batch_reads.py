"""The resolver's batch read (profiles.dal.batch_reads): a batch's identifiers, suppression markers and profiles
are read with BatchGetItem up front; the resolutions then read nothing more for them, and a
write makes its keys be read again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from omnichannel.event_bus import BusEvent, bundle, bus_time
from omnichannel.identifiers import IdentifierType
from profiles.dal.batch_reads import PrefetchingClient, canonical_events_of, keys_of_events
from profiles.dal.items import profile_from_item
from profiles.dal.profile_store import DynamoDBProfileStore
from profiles.logic.resolver_service import Outcome, ProfileResolver
from tests.support.profiles_harness import PROFILES_TABLE, T0, make_event, profiles_in_moto
from tests.support.sqs_batches import bus_event, sqs_batch


def test_a_batch_of_known_customers_costs_one_read_round_and_writes_only_their_timeline_rows() -> None:
    with profiles_in_moto() as harness:
        # Given 30 visitors known already (each by a device)
        customers = [{"anonymous_id": f"anon-{n}"} for n in range(30)]
        for identifiers in customers:
            harness.resolver().resolve(make_event(identifiers, at=T0))
        reads = PrefetchingClient(harness.client, PROFILES_TABLE)
        resolver = ProfileResolver(DynamoDBProfileStore(reads, PROFILES_TABLE), harness.rules, lambda: harness.clock[0])
        calls: list[str] = []
        harness.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

        # When a batch of their page views 5 minutes later (nothing new) is resolved, its reads made up front
        batch = [make_event(identifiers, at=T0 + timedelta(minutes=5)) for identifiers in customers]
        with reads.batch(keys_of_events(batch)) as prefetch_calls:
            before = len(calls)
            outcomes = [resolver.resolve(event).outcome for event in batch]
            during = calls[before:]

        # Then the batch was read in a few BatchGetItem calls (identifiers and suppression markers, then
        # profiles), and resolving the 30 events read nothing more: each wrote only its timeline row
        assert outcomes == [Outcome.UNCHANGED] * 30
        assert prefetch_calls == 2
        assert calls[:before] == ["BatchGetItem"] * 2
        assert during == ["PutItem"] * 30


def test_what_a_batch_wrote_is_what_its_next_event_reads_without_a_call() -> None:
    with profiles_in_moto() as harness:
        reads = PrefetchingClient(harness.client, PROFILES_TABLE)
        resolver = ProfileResolver(DynamoDBProfileStore(reads, PROFILES_TABLE), harness.rules, lambda: harness.clock[0])
        first = make_event({"user_id": "cus-new", "anonymous_id": "anon-a"})
        second = make_event({"user_id": "cus-new", "anonymous_id": "anon-b"})
        calls: list[dict[str, Any]] = []
        harness.client.meta.events.register(
            "provide-client-params.dynamodb.BatchGetItem", lambda params, **_: calls.append(params)
        )

        # Given a batch of two events of a customer nobody knows yet, its reads made up front (nothing found)
        with reads.batch(keys_of_events([first, second])):
            assert resolver.resolve(first).outcome is Outcome.CREATED
            # When the second is resolved after the first created the profile and its identifier items
            calls.clear()
            resolution = resolver.resolve(second)

        # Then it saw the identifier item and the profile the first wrote (not the stale "absent"), without reading
        # them again (write-through), and attached the new device to that profile
        assert resolution.outcome is Outcome.UPDATED
        read_keys = {key["pk"]["S"] for params in calls for key in params["RequestItems"][PROFILES_TABLE]["Keys"]}
        assert "ID#user_id#cus-new" not in read_keys
        assert not any(key.startswith("PROFILE#") for key in read_keys)
        assert len(harness.root_profiles()) == 1
        [profile] = map(profile_from_item, harness.root_profiles())
        assert {"anon-a", "anon-b"} <= profile.identifiers[IdentifierType.ANONYMOUS_ID]


def test_a_write_someone_else_made_meanwhile_is_read_again_after_the_condition_fails() -> None:
    with profiles_in_moto() as harness:
        reads = PrefetchingClient(harness.client, PROFILES_TABLE)
        store = DynamoDBProfileStore(reads, PROFILES_TABLE)
        resolver = ProfileResolver(store, harness.rules, lambda: harness.clock[0])
        other = ProfileResolver(
            DynamoDBProfileStore(harness.client, PROFILES_TABLE), harness.rules, lambda: harness.clock[0]
        )
        first = make_event({"user_id": "cus-1", "anonymous_id": "anon-a"})
        second = make_event({"user_id": "cus-1", "anonymous_id": "anon-b"})
        third = make_event({"user_id": "cus-1", "email": "ayse@posta.com.tr"})
        with reads.batch(keys_of_events([first, second, third])):
            created = resolver.resolve(first)  # remembered as written
            # Given another resolver changes the same profile meanwhile (the remembered item is now stale)
            assert other.resolve(second).outcome is Outcome.UPDATED
            # When this batch's next event changes the profile from what it remembered
            resolution = resolver.resolve(third)
        # Then its conditioned transaction failed, it read again and kept both changes
        assert resolution.outcome is Outcome.UPDATED
        assert resolution.attempts >= 2
        [profile] = map(profile_from_item, harness.root_profiles())
        assert {"anon-a", "anon-b"} <= profile.identifiers[IdentifierType.ANONYMOUS_ID]
        assert profile.identifiers[IdentifierType.EMAIL] == {"ayse@posta.com.tr"}
        assert profile.profile_id == created.profile_id


def test_the_events_of_a_bundle_are_read_up_front_like_single_ones() -> None:
    # Given an SQS batch with a single captured event, a bundle of two, and a body that is not an event
    events = [make_event({"anonymous_id": f"anon-{n}"}) for n in range(3)]
    bus = [BusEvent(e.event_id, "omnichannel.capture", e.detail_type, e.to_bus_detail()) for e in events]
    [(bundled, _)] = bundle(bus[1:], bus_time())
    batch = sqs_batch(
        [
            bus_event("omnichannel.capture", bus[0].detail_type, bus[0].detail),
            bus_event(bundled.source, bundled.detail_type, bundled.detail),
            "not json",
        ]
    )

    # When the resolver's prefetch reads the batch, Then it finds all three events
    assert [event.event_id for event in canonical_events_of(batch["Records"])] == [e.event_id for e in events]


def test_a_refused_write_is_not_remembered_as_written() -> None:
    with profiles_in_moto() as harness:
        reads = PrefetchingClient(harness.client, PROFILES_TABLE)
        key = {"pk": {"S": "PROFILE#p-1"}, "sk": {"S": "PROFILE"}}
        harness.client.put_item(TableName=PROFILES_TABLE, Item={**key, "version": {"N": "1"}})
        with reads.batch([("PROFILE#p-1", "PROFILE")]):
            # Given a conditional write the table refuses (someone else's version is there)
            forged = {**key, "version": {"N": "99"}}
            with pytest.raises(harness.client.exceptions.ConditionalCheckFailedException):
                reads.put_item(TableName=PROFILES_TABLE, Item=forged, ConditionExpression="attribute_not_exists(pk)")
            # Then a read in the same batch answers what the table holds, not what was tried
            answer = reads.get_item(TableName=PROFILES_TABLE, Key=key)
        assert answer["Item"]["version"] == {"N": "1"}
