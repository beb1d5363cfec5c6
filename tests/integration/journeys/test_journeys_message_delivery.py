"""How a journey's message ended, on moto's JourneysTable (created from template.yaml): outbound's message.sent /
message.failed are written on the effect that asked for the message and counted in the funnel once; the first end
stands (a redelivery or a late contradicting event changes nothing); a merged-away profile's message is found; an
unknown message is counted and done (never quarantined, never retried); an erased customer's message stays gone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from journeys import wiring
from journeys.dal.dynamodb_store import DynamoDBJourneyStore
from journeys.dal.memory_store import InMemoryCustomers
from journeys.handlers.bus_batch import apply_batch
from journeys.logic.delivery import effect_id_of
from journeys.logic.engine import Engine
from journeys.logic.funnel import funnel
from journeys.logic.registry import Registry
from journeys.logic.service import JourneyService
from journeys.models.definition import JourneyDefinition
from journeys.models.state import Change, Effect, Profile
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffEventType,
    MessageEndState,
    OutboundChannel,
    OutboundMessageFailed,
    OutboundMessageSent,
    handoff_event_id,
)
from tests.support.journey_memory import envelope
from tests.support.moto_tables import atomic_moto_dynamodb, create_table, table_properties

TABLE = "journeys"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
DEFINITION = JourneyDefinition.model_validate(
    {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"event": "Signed Up"},
     "steps": [{"id": "hello", "type": "send", "message": {"sms": {"text": "Hi {first_name}"}}}]}
)  # fmt: skip


@dataclass
class World:
    dynamodb: Any
    store: DynamoDBJourneyStore
    customers: InMemoryCustomers
    publisher: InMemoryPublisher
    service: JourneyService

    def customer(self, profile_id: str) -> None:
        self.customers.add(
            Profile(profile_id, {"user_id": [f"u-{profile_id}"], "phone": ["+905321110001"]},
                    {"consent": {"sms": True}, "first_name": "Ayşe"}, {"consent": "2026-03-01T00:00:00.000Z"})
        )  # fmt: skip

    def sign_up(self, profile_id: str) -> dict[str, Any]:
        """The customer signs up; the journey's message.requested (as outbound receives it)."""
        detail = {"event_id": f"signup-{profile_id}", "message_id": f"m-{profile_id}", "source": "t", "type": "track",
                  "name": "Signed Up", "channel": "web", "identifiers": {"user_id": f"u-{profile_id}"},
                  "occurred_at": "2026-03-02T07:00:00Z", "received_at": "2026-03-02T07:00:00Z"}  # fmt: skip
        assert self.service.handle_one(envelope("omnichannel.capture", "Signed Up", detail)) == "applied"
        [requested] = [e for e in self.publisher.events if e.detail["profile_id"] == profile_id]
        return requested.detail

    def counters(self) -> dict[str, Any]:
        figures: dict[str, Any] = funnel(DEFINITION, self.store.counters("welcome"))["delivery"]
        return figures

    def effect(self, profile_id: str, message_id: str) -> Any:
        return self.store.effect(profile_id, effect_id_of(message_id))


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, TABLE, table_properties("JourneysTable"))
        store, customers, publisher = DynamoDBJourneyStore(client, TABLE), InMemoryCustomers(), InMemoryPublisher()
        service = JourneyService(Engine(Registry.of([DEFINITION])), store, customers, publisher, lambda: NOW)
        yield World(client, store, customers, publisher, service)


def sent(request: dict[str, Any], *, profile_id: str | None = None, seconds: int = 2) -> dict[str, Any]:
    """message.sent as outbound's stream announces it for that request."""
    event = OutboundMessageSent(
        event_id=handoff_event_id(HandoffEventType.MESSAGE_SENT.value, request["message_id"]),
        occurred_at=NOW + timedelta(seconds=seconds), message_id=request["message_id"],
        profile_id=profile_id or request["profile_id"], channel=OutboundChannel(request["channel"]),
        template=request["template"], provider_id="sns-1", reason=request["reason"], attempts=1,
    )  # fmt: skip
    return envelope(HANDOFF_SOURCE, "message.sent", event.model_dump(mode="json"))


def failed(request: dict[str, Any], state: MessageEndState = MessageEndState.FAILED, code: str = "HTTP400") -> Any:
    event = OutboundMessageFailed(
        event_id=handoff_event_id(HandoffEventType.MESSAGE_FAILED.value, request["message_id"]),
        occurred_at=NOW + timedelta(minutes=31), message_id=request["message_id"], profile_id=request["profile_id"],
        channel=OutboundChannel(request["channel"]), template=request["template"], reason=request["reason"],
        attempts=5, state=state, error_code=code,
    )  # fmt: skip
    return envelope(HANDOFF_SOURCE, "message.failed", event.model_dump(mode="json"))


def test_a_sent_message_is_recorded_once_and_never_turns_failed(world: World) -> None:
    # Given a journey's message requested for p1
    world.customer("p1")
    request = world.sign_up("p1")
    assert request["reason"] == "journey:welcome"

    # When outbound says it was sent, then the same event comes again, then (wrongly) that it failed
    outcomes = [world.service.handle_one(e) for e in (sent(request), sent(request), failed(request))]

    # Then the effect shows it sent, when and on which channel, counted once under its channel
    assert outcomes == ["delivery_recorded", "delivery_known", "delivery_known"]
    stored = world.effect("p1", request["message_id"])
    assert stored is not None
    assert stored.delivery is not None
    assert (stored.delivery.state, stored.delivery.at, stored.delivery.channel) == (
        "sent",
        "2026-03-02T07:00:02.000Z",
        "sms",
    )
    assert stored.delivery.error_code is None
    assert world.counters() == {"sent": {"sms": 1}, "failed": {}, "cancelled": {}}


@pytest.mark.parametrize("state", [MessageEndState.FAILED, MessageEndState.CANCELLED])
def test_a_message_that_did_not_go_out_is_recorded_with_its_reason(world: World, state: MessageEndState) -> None:
    world.customer("p1")
    request = world.sign_up("p1")

    assert world.service.handle_one(failed(request, state, "cart_bought")) == "delivery_recorded"
    assert world.service.handle_one(failed(request, state, "cart_bought")) == "delivery_known"

    stored = world.effect("p1", request["message_id"])
    assert stored is not None
    assert stored.delivery is not None
    assert (stored.delivery.state, stored.delivery.error_code) == (state.value, "cart_bought")
    assert world.counters()[state.value] == {"sms": 1}
    # And a message.sent arriving late does not rewrite the first end
    assert world.service.handle_one(sent(request)) == "delivery_known"
    assert world.counters()["sent"] == {}


def test_an_unannounced_effect_leaves_the_republish_index_once_its_end_is_known(world: World) -> None:
    # Given the message's request was published but marking it announced was lost (it would be republished)
    world.customer("p1")
    request = world.sign_up("p1")
    key = {"pk": {"S": "P#p1"}, "sk": {"S": f"Z#OUT#{effect_id_of(request['message_id'])}"}}
    world.dynamodb.update_item(
        TableName=TABLE, Key=key, UpdateExpression="REMOVE published_at SET due_pk = :p, due_sk = :s",
        ExpressionAttributeValues={":p": {"S": "DUE#0"}, ":s": {"S": "2026-03-02T07:02:00.000Z#x"}},
    )  # fmt: skip

    # When outbound says it was sent
    world.service.handle_one(sent(request))

    # Then it is announced (outbound heard it) and out of the sweep's index
    item = world.dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    assert "due_pk" not in item
    assert item["published_at"]["S"] == "2026-03-02T07:00:02.000Z"


def test_a_merged_away_profiles_message_is_found(world: World) -> None:
    # Given m's message requested, then m merged into s (the profiles table's pointer)
    world.customer("m")
    world.customer("s")
    request = world.sign_up("m")
    world.customers.merged_into["m"] = "s"

    # When outbound announces it sent, under m
    assert world.service.handle_one(sent(request)) == "delivery_recorded"

    # Then m's effect (where it was written) shows it
    stored = world.effect("m", request["message_id"])
    assert stored is not None
    assert stored.delivery is not None
    assert stored.delivery.state == "sent"

    # And an effect kept under the survivor (moved there) is found from the merged-away id too
    moved = Effect(effect_id_of("m-2"), "message", "message.requested", {}, "welcome", "hello",
                   "2026-03-02T07:00:00.000Z", "sms", {"message_id": "m-2"})  # fmt: skip
    world.store.commit(world.store.load("s"), Change(effects=[moved]), event_id=None, now=NOW)
    later = {**request, "message_id": "m-2"}
    assert world.service.handle_one(sent(later)) == "delivery_recorded"
    at_survivor = world.effect("s", "m-2")
    assert at_survivor is not None
    assert at_survivor.delivery is not None
    assert world.counters()["sent"] == {"sms": 2}


def test_an_unknown_message_is_counted_and_done_never_quarantined_nor_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the consumer's batch shell on this service, and a journey's message the journeys never asked for
    monkeypatch.setattr(wiring, "get_service", lambda: world.service)
    stranger = {"message_id": "never-asked", "profile_id": "p-x", "channel": "sms", "template": "t",
                "reason": "journey:gone"}  # fmt: skip

    # When its message.sent arrives
    outcome = apply_batch([sent(stranger)])

    # Then it is neither poison nor retried, and nothing was written
    assert (outcome.poison, outcome.retry) == ({}, set())
    assert world.service.handle_one(sent(stranger)) == "unknown_message"
    assert world.dynamodb.scan(TableName=TABLE)["Items"] == []


def test_an_erased_customers_message_stays_erased(world: World) -> None:
    # Given a sent message recorded for p1, then p1 erased
    world.customer("p1")
    request = world.sign_up("p1")
    world.service.handle_one(sent(request))
    erased = {"event_id": "erase-1", "occurred_at": "2026-03-02T08:00:00Z", "profile_id": "p1", "profile_ids": ["p1"]}
    assert world.service.handle_one(envelope("omnichannel.profiles", "profile.erased", erased)).startswith("erased:")

    # When outbound's announcement comes again (a re-published stream record)
    assert world.service.handle_one(failed(request)) == "unknown_message"

    # Then nothing of p1 is back
    items = world.dynamodb.scan(TableName=TABLE, FilterExpression="begins_with(pk, :p)",
                                ExpressionAttributeValues={":p": {"S": "P#p1"}})["Items"]  # fmt: skip
    assert items == []


def test_another_flows_message_is_not_the_journeys_business(world: World) -> None:
    world.customer("p1")
    request = world.sign_up("p1")
    store_offer = {**request, "reason": "cart_abandoned_in_stock_nearby"}

    assert world.service.handle_one(sent(store_offer)) == "ignored"
    stored = world.effect("p1", request["message_id"])
    assert stored is not None
    assert stored.delivery is None
