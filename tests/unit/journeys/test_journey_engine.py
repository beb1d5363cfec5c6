"""The engine and service on in-memory stores: waits for an event, exits, re-entry rules, segments, definition
versions, merges, announcing after a lost publish, conflicts, customers not resolved yet and malformed events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from journeys import wiring
from journeys.handlers import bus_batch
from journeys.logic.ports import Conflict
from journeys.models.definition import JourneyDefinition
from journeys.models.state import Change, CustomerState
from omnichannel.bus_batch import BusBatchConsumer
from omnichannel.event_bus import BusEvent, InMemoryPublisher, PublishResult
from omnichannel.profile_events import PROFILES_SOURCE
from tests.support.journey_memory import MemoryJourneys, envelope
from tests.support.sqs_batches import failed_ids, sqs_batch

SMS = {"sms": {"text": "Hi {first_name}"}}


def journey(journey_id: str = "probe", **fields: Any) -> JourneyDefinition:
    document: dict[str, Any] = {
        "id": journey_id,
        "version": 1,
        "name": journey_id.title(),
        "trigger": {"event": "Signed Up"},
        "steps": [{"id": "hello", "type": "send", "message": SMS}],
        **fields,
    }
    return JourneyDefinition.model_validate(document)


def world(*definitions: JourneyDefinition) -> MemoryJourneys:
    return MemoryJourneys(definitions=list(definitions))


def texts(memory: MemoryJourneys) -> list[str]:
    return [detail["step_id"] for detail in memory.published("message.requested")]


def test_a_wait_for_an_event_goes_on_when_it_comes_and_takes_the_timeout_path_when_not() -> None:
    # Given a journey that waits up to two days for an order, then thanks or nudges
    memory = world(
        journey(
            steps=[
                {"id": "await", "type": "wait", "until": {"event": "Order Completed"}, "timeout": "2d",
                 "on_timeout": "nudge"},
                {"id": "thanks", "type": "send", "message": SMS, "next": "end"},
                {"id": "nudge", "type": "send", "message": SMS},
                {"id": "end", "type": "exit"},
            ]
        )
    )  # fmt: skip
    buyer = memory.customer("buyer", phone="+905321110001", consent={"sms": True})
    idle = memory.customer("idle", phone="+905321110002", consent={"sms": True})
    for person in (buyer, idle):
        memory.track(person, "Signed Up")

    # When one orders the next day and the other never does
    memory.advance(days=1)
    memory.track(buyer, "Order Completed")
    memory.advance(days=2)

    # Then the buyer is thanked at once, the other nudged at the timeout
    assert [d["step_id"] for d in memory.published("message.requested", buyer)] == ["thanks"]
    assert [d["step_id"] for d in memory.published("message.requested", idle)] == ["nudge"]
    assert memory.store.counters("probe")["timeout:await"] == 1


def test_an_exit_event_ends_the_run_and_reentry_rules_decide_who_comes_back() -> None:
    waiting = [{"id": "later", "type": "wait", "duration": "3d"}, {"id": "hello", "type": "send", "message": SMS}]
    memory = world(
        journey("once", entry={"reentry": "never"}, steps=waiting),
        journey("again", entry={"reentry": "after_exit"}, exit_on=[{"event": "Account Closed"}], steps=waiting),
        journey("monthly", entry={"reentry": "cooldown", "cooldown": "30d"}, steps=waiting),
    )
    person = memory.customer("p", phone="+905321110003", consent={"sms": True})

    # When the trigger comes, then the exit event, then the trigger again after 10 and after 40 days
    memory.track(person, "Signed Up")
    memory.track(person, "Account Closed")
    memory.advance(days=10)
    memory.track(person, "Signed Up")
    memory.advance(days=30)
    memory.track(person, "Signed Up")

    # Then "once" ran once, "again" ran after each exit or end, "monthly" only after its 30 days
    state = memory.store.load("p")
    assert {journey_id: run.run for journey_id, run in state.runs.items()} == {"once": 1, "again": 3, "monthly": 2}
    assert memory.store.counters("again")["exited:exit_event"] == 1


def test_a_segment_trigger_enters_when_the_profile_comes_into_it_and_not_again_while_inside() -> None:
    memory = world(journey("vip_welcome", trigger={"segment": {"traits": {"vip": True}}}))
    person = memory.customer("v", phone="+905321110004", consent={"sms": True}, vip=False)

    sent: list[str] = []

    def updated(*traits: str) -> None:
        sent.append("u")
        detail = {"event_id": f"update-{len(sent)}", "occurred_at": "2026-03-02T07:00:00Z", "profile_id": "v",
                  "changed_traits": list(traits)}  # fmt: skip
        memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.updated", detail))

    updated("vip")  # still not a VIP
    memory.customers.profiles["v"] = memory.customers.profiles["v"].__class__(
        "v", person.identifiers, {**person.traits, "vip": True}, person.trait_times
    )
    updated("vip")  # becomes one
    updated("vip")  # stays one
    updated("city")  # a trait the segment does not read

    assert texts(memory) == ["hello"]
    assert memory.store.load("v").facts.segments == {"vip_welcome": True}


def test_a_run_goes_on_at_its_step_in_a_new_version_and_ends_when_its_step_is_gone() -> None:
    v1 = journey(steps=[{"id": "wait", "type": "wait", "duration": "1d"}, {"id": "hello", "type": "send",
                                                                              "message": SMS}])  # fmt: skip
    memory = world(v1)
    kept = memory.customer("kept", phone="+905321110005", consent={"sms": True})
    gone = memory.customer("gone", phone="+905321110006", consent={"sms": True})
    memory.track(kept, "Signed Up")
    memory.track(gone, "Signed Up")

    # When version 2 replaces version 1 (same step ids) for one world, and version 3 (other ids) for the other
    v2 = journey(version=2, steps=[{"id": "wait", "type": "wait", "duration": "1d"},
                                   {"id": "hello", "type": "send", "message": {"sms": {"text": "v2"}}}])  # fmt: skip
    v3 = journey(version=3, steps=[{"id": "pause", "type": "wait", "duration": "1d"}])
    memory.engine.registry.versions["probe"] = {2: v2}
    memory.advance(hours=1)
    state_before = memory.store.load("gone")
    memory.engine.registry.versions["probe"] = {3: v3}
    memory.now = memory.now.replace(day=memory.now.day + 1)
    change = memory.engine.wake(state_before, memory.now, lambda: None)

    # Then a run whose step survives goes on in the new version; one whose step is gone ends
    memory.engine.registry.versions["probe"] = {2: v2}
    memory.service.sweep()
    assert [d["text"] for d in memory.published("message.requested", kept)] == ["v2"]
    assert change.runs["probe"].end_reason == "definition_changed"


def test_a_merged_customers_run_moves_to_the_survivor_unless_the_survivor_has_one() -> None:
    waiting = [{"id": "later", "type": "wait", "duration": "2d"}, {"id": "hello", "type": "send", "message": SMS}]
    memory = world(journey("a", steps=waiting), journey("b", trigger={"event": "Store Visited"}, steps=waiting))
    survivor = memory.customer("s", phone="+905321110007", consent={"sms": True})
    merged = memory.customer("m", phone="+905321110008", consent={"sms": False})
    memory.track(survivor, "Signed Up")
    memory.track(merged, "Signed Up")
    memory.track(merged, "Store Visited")

    # When profiles merges m into s
    memory.customers.merged_into["m"] = "s"
    detail = {"event_id": "merge-1", "occurred_at": "2026-03-02T07:00:00Z", "merge_id": "x", "survivor_id": "s",
              "merged_id": "m", "rule": "email"}  # fmt: skip
    assert memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.merged", detail)) == "merged"
    assert memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.merged", detail)) == "unchanged"
    memory.advance(days=2)

    # Then s has both journeys once, m has nothing, and the journey they were both in ran once
    assert sorted(memory.store.load("s").runs) == ["a", "b"]
    assert memory.store.load("m").runs == {}
    assert sorted(d["journey_id"] for d in memory.published("message.requested", survivor)) == ["a", "b"]
    assert memory.store.counters("a")["exited:merged"] == 1


def test_an_undone_merge_gives_the_restored_customer_their_runs_messages_and_a_copy_of_the_opt_outs() -> None:
    waiting = [{"id": "later", "type": "wait", "duration": "2d"}, {"id": "hello", "type": "send", "message": SMS}]
    memory = world(journey("a", steps=waiting), journey("b", trigger={"event": "Store Visited"}, steps=waiting))
    survivor = memory.customer("s", phone="+905321110017", consent={"sms": True})
    merged = memory.customer("m", phone="+905321110018", consent={"sms": True})
    memory.track(survivor, "Signed Up")
    memory.track(merged, "Store Visited")
    merge = {"event_id": "merge-2", "occurred_at": "2026-03-02T07:00:00Z", "merge_id": "y", "survivor_id": "s",
             "merged_id": "m", "rule": "email"}  # fmt: skip
    memory.customers.merged_into["m"] = "s"
    assert memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.merged", merge)) == "merged"
    # And while they were one, m's journey sent its message (under s) and s replied STOP on SMS
    memory.advance(days=2)
    [sent_for_m] = [effect for effect in memory.store.effects("s") if effect.journey_id == "b"]
    assert memory.track(survivor, "Message Received", channel="sms", text="STOP") == "applied"

    # When an admin undoes the merge (twice: at least once)
    del memory.customers.merged_into["m"]
    undo = {"event_id": "unmerge-2", "occurred_at": "2026-03-05T07:00:00Z", "merge_id": "y", "survivor_id": "s",
            "restored_id": "m"}  # fmt: skip
    assert memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.unmerged", undo)) == "restored"
    assert memory.service.handle_one(envelope(PROFILES_SOURCE, "profile.unmerged", undo)) == "unchanged"

    # Then m's run and the message sent for it are m's again, and s keeps only its own
    assert sorted(memory.store.load("s").runs) == ["a"]
    assert [(run.journey_id, run.merged_from) for run in memory.store.load("m").runs.values()] == [("b", None)]
    assert [effect.event_id for effect in memory.store.effects("m")] == [sent_for_m.event_id]
    assert all(effect.journey_id == "a" for effect in memory.store.effects("s"))
    # And the STOP sent while they were one holds for both
    assert memory.store.load("m").facts.consent["sms"].opted_in is False


class FlakyPublisher(InMemoryPublisher):
    """Loses the first publication of every event (the bus refused, or the worker died before publishing)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: dict[str, int] = {}

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        self.fail_ids = {e.event_id for e in events if self.attempts.get(e.event_id, 0) == 0}
        for event in events:
            self.attempts[event.event_id] = self.attempts.get(event.event_id, 0) + 1
        return super().publish(events)


def test_an_effect_whose_publication_was_lost_is_announced_by_the_sweep_with_the_same_id() -> None:
    memory = world(journey())
    memory.publisher = FlakyPublisher()
    memory.service.publisher = memory.publisher
    person = memory.customer("p", phone="+905321110009", consent={"sms": True})

    # When the step runs and its publication fails
    memory.track(person, "Signed Up")
    assert memory.published("message.requested") == []

    # Then a sweep within two minutes leaves it, and the one after publishes it once, with the same id
    memory.advance(minutes=1)
    assert memory.published("message.requested") == []
    memory.advance(minutes=2)
    [published] = memory.publisher.events
    assert memory.publisher.attempts == {published.event_id: 2}
    memory.advance(minutes=10)
    assert len(memory.publisher.events) == 1
    [effect] = memory.store.effects("p")
    assert effect.published_at is not None


def test_a_conflicting_write_is_decided_again_and_applied_once(monkeypatch: pytest.MonkeyPatch) -> None:
    memory = world(journey())
    person = memory.customer("p", phone="+905321110010", consent={"sms": True})
    original = memory.store.commit
    calls = []

    def conflict_once(state: CustomerState, change: Change, **kwargs: Any) -> bool:
        calls.append(state)
        if len(calls) == 1:
            raise Conflict("p")
        return original(state, change, **kwargs)

    monkeypatch.setattr(memory.store, "commit", conflict_once)
    assert memory.track(person, "Signed Up") == "applied"
    assert len(calls) == 2
    assert texts(memory) == ["hello"]


def test_an_event_before_its_profile_is_retried_and_a_malformed_one_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    memory = world(journey())
    unknown = memory.customer("ghost")
    memory.customers.profiles.clear()
    memory.customers.owners.clear()
    fresh = memory.captured(unknown, "Signed Up")
    malformed = envelope("omnichannel.capture", "Signed Up", {"event_id": "x", "type": "nonsense"})

    chatter = memory.captured(unknown, "Message Received", channel="sms", identifiers={"phone": "+905329999999"})
    result = memory.service.handle([fresh, malformed, chatter])

    assert result.failed == [fresh["id"]]  # it would start a journey: worth waiting for its profile
    assert result.outcomes[chatter["id"]] == "no_profile"  # it starts none: no run can concern it
    assert result.outcomes[malformed["id"]].startswith("dropped")
    # An old event whose customer never appeared is given up (nobody to write to), not retried forever
    memory.advance(hours=1)
    assert memory.service.handle([fresh]).outcomes[fresh["id"]] == "no_profile"
    # Through the bus entry point (an SQS batch on the shared shell): only the event to retry comes back, the
    # malformed one is quarantined once with its reason, the chatter is done
    monkeypatch.setattr(wiring, "get_service", lambda: memory.service)
    memory.now = memory.now.replace(hour=memory.now.hour - 1)
    assert bus_batch.process([fresh, malformed]).failed == [fresh["id"]]
    kept: list[tuple[str, str]] = []
    consumer = BusBatchConsumer(
        Logger(service="test"), Metrics(namespace="Test", service="test"), quarantine=lambda: KeptInMemory(kept)
    )
    batch = sqs_batch([fresh, malformed, chatter])
    ids = [record["messageId"] for record in batch["Records"]]
    answer = consumer.handle_batch(batch, LambdaContext(), bus_batch.apply_batch)
    assert failed_ids(answer) == [ids[0]]
    assert kept == [(ids[1], "dropped:ValidationError")]


class KeptInMemory:
    def __init__(self, kept: list[tuple[str, str]]) -> None:
        self.kept = kept

    def keep(self, record: SQSRecord, reason: str, consumer: str) -> None:
        self.kept.append((record.message_id, reason))


class LambdaContext:
    function_name = "JourneysEventsFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JourneysEventsFunction"
    memory_limit_in_mb = 512
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/JourneysEventsFunction"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_a_stop_ends_held_out_runs_too_and_the_trigger_is_never_the_goal() -> None:
    memory = world(
        journey("j", trigger={"event": "Order Completed"}, goal={"event": "Order Completed", "within": "30d"},
                entry={"holdout": 0.5}, steps=[{"id": "w", "type": "wait", "duration": "5d"}]),
    )  # fmt: skip
    people = [memory.customer(f"c{n}", phone=f"+90532111{n:04d}", consent={"sms": True}) for n in range(40)]
    for person in people:
        memory.track(person, "Order Completed")
    counters = memory.store.counters("j")
    assert counters.get("converted", 0) == counters.get("converted_held_out", 0) == 0  # the trigger is no goal
    assert counters["entered"] > 0
    assert counters["held_out"] > 0

    for person in people:
        memory.track(person, "Message Received", channel="sms", identifiers={"phone": person.identifiers["phone"][0]},
                     text="STOP")  # fmt: skip

    runs = [memory.store.load(p.profile_id).runs["j"] for p in people]
    assert {(run.status.value, run.end_reason) for run in runs} == {("exited", "stop")}
    assert memory.store.counters("j")["exited:stop"] == 40
