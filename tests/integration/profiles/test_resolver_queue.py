"""The profiles resolver's queue, through the local runtime: a poison record is quarantined once, its batch-mates
are resolved."""

from __future__ import annotations

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.support.quarantine_runtime import canonical, run_batch, runtime


def owner(rt: LocalRuntime, user_id: str) -> str | None:
    item = rt.client("dynamodb").get_item(
        TableName=rt.table_name("ProfilesTable"), Key={"pk": {"S": f"ID#user_id#{user_id}"}, "sk": {"S": "ID"}}
    )
    return item["Item"]["profile_id"]["S"] if "Item" in item else None


def test_a_poison_event_is_quarantined_once_and_the_next_events_resolve() -> None:
    with runtime() as rt:
        # Given two logins and, between them, a captured event whose channel and time no resolver can read
        first = canonical(None, {"user_id": "cus-q-1"}, kind="identify")
        poison = {**canonical(None, {"user_id": "cus-q-2"}, kind="identify"), "channel": "pigeon", "occurred_at": "?"}
        second = canonical(None, {"user_id": "cus-q-3"}, kind="identify")

        # When the three reach the resolver's queue and everything is delivered
        events = [(CAPTURE_SOURCE, "identify", event) for event in (first, poison, second)]
        run = run_batch(rt, "ProfilesResolverFunction", events)

        # Then the poison was handed over once and sits in the dead-letter queue with the fields that failed
        assert run.records_delivered.count(poison["event_id"]) == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == poison["event_id"]
        assert kept.reason == "invalid detail.channel, detail.occurred_at"
        assert kept.consumer.endswith("ProfilesResolverFunction")
        # And the events before and after it were resolved; the poison one was not
        assert owner(rt, "cus-q-1") is not None
        assert owner(rt, "cus-q-3") is not None
        assert owner(rt, "cus-q-2") is None
