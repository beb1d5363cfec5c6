"""JourneysTable on moto, created from template.yaml: a change is one transaction conditional on what was read, an
event is applied once, the due index finds what is due across its shards and nothing else, announcing takes an
effect out of it, erasure leaves nothing of the customer, counters add up across shards, and the service on top
of it gives one step's effects once under concurrent sweeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from journeys.dal.dynamodb_store import DynamoDBJourneyStore
from journeys.dal.memory_store import InMemoryCustomers
from journeys.logic.engine import Engine
from journeys.logic.ports import Conflict
from journeys.logic.registry import Registry
from journeys.logic.service import JourneyService
from journeys.models.definition import JourneyDefinition
from journeys.models.state import Change, CustomerFacts, Effect, Group, Profile, Run, RunStatus
from omnichannel.event_bus import InMemoryPublisher
from tests.support.journey_memory import envelope
from tests.support.moto_tables import atomic_moto_dynamodb, create_table, table_properties

TABLE = "journeys"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, TABLE, table_properties("JourneysTable"))
        yield client


@pytest.fixture
def store(dynamodb: Any) -> DynamoDBJourneyStore:
    return DynamoDBJourneyStore(dynamodb, TABLE)


def run(profile_id: str, journey_id: str = "j", **fields: Any) -> Run:
    defaults: dict[str, Any] = {
        "version": 1,
        "run": 1,
        "group": Group.TREATMENT,
        "status": RunStatus.ACTIVE,
        "entered_at": "2026-03-02T07:00:00.000Z",
        "step": "wait",
        "seq": 1,
        "trigger": {"event": "Signed Up", "properties": {"plan": "gold"}},
    }
    return Run(profile_id=profile_id, journey_id=journey_id, **{**defaults, **fields})


def effect(event_id: str) -> Effect:
    return Effect(event_id, "message", "message.requested", {"event_id": event_id, "to": "+905321110001"}, "j",
                  "hello", "2026-03-02T07:00:00.000Z", "sms", {"template": "t"})  # fmt: skip


def test_a_change_round_trips_and_a_stale_or_repeated_one_writes_nothing(store: DynamoDBJourneyStore) -> None:
    # Given a new run, facts, an effect and counters for a customer
    state = store.load("p1")
    change = Change(
        runs={"j": run("p1", due_at="2026-03-03T07:00:00.000Z")},
        facts=CustomerFacts("p1", kpis={"stage": "loyalty"}, sent=("2026-03-02T07:00:00.000Z",)),
        effects=[effect("e1")],
        counters={"j": {"entered": 1, "step:wait": 1}},
    )

    # When it is committed with its event
    assert store.commit(state, change, event_id="evt-1", now=NOW) is True

    # Then it reads back as written, revisions raised
    loaded = store.load("p1")
    assert loaded.runs["j"] == replace(change.runs["j"], revision=1)
    assert loaded.facts.kpis == {"stage": "loyalty"}
    assert loaded.facts.revision == 1
    assert [e.event_id for e in store.effects("p1")] == ["e1"]
    assert store.counters("j") == {"entered": 1, "step:wait": 1}
    # And the same event again is a duplicate that writes nothing (not even counters)
    assert store.commit(loaded, Change(counters={"j": {"entered": 1}}), event_id="evt-1", now=NOW) is False
    assert store.counters("j")["entered"] == 1
    # And a change decided on the stale state is a conflict, with nothing written
    with pytest.raises(Conflict):
        store.commit(state, Change(runs={"j": run("p1", step="other")}), event_id=None, now=NOW)
    assert store.load("p1").runs["j"].step == "wait"


def test_the_due_index_finds_what_is_due_in_time_order_across_shards(store: DynamoDBJourneyStore) -> None:
    # Given 30 customers waiting until different times, one finished run, and an effect not yet announced
    for n in range(30):
        at = (NOW + timedelta(hours=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        store.commit(store.load(f"p{n}"), Change(runs={"j": run(f"p{n}", due_at=at)}), event_id=None, now=NOW)
    finished = run("done", status=RunStatus.FINISHED, step=None, due_at=None)
    store.commit(store.load("done"), Change(runs={"j": finished}), event_id=None, now=NOW)
    store.commit(store.load("p0"), Change(effects=[effect("e0")]), event_id=None, now=NOW)

    # When the sweep asks at NOW + 10 h
    due = store.due(NOW + timedelta(hours=10), limit=100)

    # Then it gets the 11 runs due by then, oldest first, and the effect (due 2 minutes after it was written)
    runs = [item.profile_id for item in due if item.kind == "run"]
    assert runs == [f"p{n}" for n in range(11)]
    assert [(item.kind, item.key) for item in due if item.kind == "effect"] == [("effect", "e0")]
    assert len(store.due(NOW + timedelta(hours=10), limit=5)) == 5
    # And an announced effect leaves the index
    store.mark_published("p0", ["e0"], NOW)
    assert all(item.kind == "run" for item in store.due(NOW + timedelta(days=9), limit=100))
    stored = store.effect("p0", "e0")
    assert stored is not None
    assert stored.published_at is not None


def test_erasure_removes_every_item_of_the_customer_and_keeps_the_anonymous_counters(
    store: DynamoDBJourneyStore, dynamodb: Any
) -> None:
    change = Change(runs={"j": run("p1")}, facts=CustomerFacts("p1"), effects=[effect("e1")],
                    counters={"j": {"entered": 1}})  # fmt: skip
    store.commit(store.load("p1"), change, event_id="evt-1", now=NOW)

    assert store.erase(["p1", "never-seen"]) == 4  # run, facts, effect, event mark

    assert dynamodb.scan(TableName=TABLE, FilterExpression="begins_with(pk, :p)",
                         ExpressionAttributeValues={":p": {"S": "P#p1"}})["Items"] == []  # fmt: skip
    assert store.counters("j") == {"entered": 1}


def test_a_merge_moves_runs_and_deletes_the_merged_customers_items_in_one_transaction(
    store: DynamoDBJourneyStore,
) -> None:
    store.commit(store.load("m"), Change(runs={"j": run("m")}, facts=CustomerFacts("m")), event_id=None, now=NOW)
    merged, survivor = store.load("m"), store.load("s")

    moved = Change(runs={"j": replace(merged.runs["j"], profile_id="s", revision=0)})
    assert store.commit(survivor, moved, event_id="merge-1", now=NOW, retire=merged)

    assert store.load("m").runs == {}
    assert store.load("m").facts.revision == 0
    assert store.load("s").runs["j"].step == "wait"


def test_two_sweeps_at_once_take_a_step_once(dynamodb: Any) -> None:
    # Given the service on the table, and 20 customers whose one-day wait ends before the sweeps
    definition = JourneyDefinition.model_validate(
        {"id": "j", "version": 1, "name": "J", "trigger": {"event": "Signed Up"},
         "steps": [{"id": "wait", "type": "wait", "duration": "1d"},
                   {"id": "hello", "type": "send", "message": {"sms": {"text": "Hi {first_name}"}}}]}
    )  # fmt: skip
    customers, publisher = InMemoryCustomers(), InMemoryPublisher()
    clock = [NOW]
    services = [
        JourneyService(
            Engine(Registry.of([definition])),
            DynamoDBJourneyStore(dynamodb, TABLE),
            customers,
            publisher,
            lambda: clock[0],
        )
        for _ in range(2)
    ]
    for n in range(20):
        customers.add(Profile(f"p{n}", {"user_id": [f"u{n}"], "phone": [f"+9053211{n:05d}"]},
                              {"consent": {"sms": True}}, {"consent": "2026-03-01T00:00:00.000Z"}))  # fmt: skip
        detail = {"event_id": f"signup-{n}", "message_id": f"m{n}", "source": "t", "type": "track", "name": "Signed Up",
                  "channel": "web", "identifiers": {"user_id": f"u{n}"}, "occurred_at": "2026-03-02T07:00:00Z",
                  "received_at": "2026-03-02T07:00:00Z"}  # fmt: skip
        assert services[0].handle_one(envelope("omnichannel.capture", "Signed Up", detail)) == "applied"
    clock[0] = NOW + timedelta(days=1, minutes=1)

    # When two workers sweep at the same moment
    threads = [threading.Thread(target=service.sweep) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each customer got exactly one message
    requested = [event.detail["profile_id"] for event in publisher.events if event.detail_type == "message.requested"]
    assert sorted(requested) == sorted(f"p{n}" for n in range(20))
