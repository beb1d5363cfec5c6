"""Capture's erasure queue, through the local runtime: a poison ``profile.erased`` is quarantined once, the next
erasures delete the customers' events."""

from __future__ import annotations

import uuid

from local_runtime.runtime import LocalRuntime
from omnichannel.profile_events import PROFILES_SOURCE
from tests.e2e.test_cart_journey import WRITE_KEY_AUTH
from tests.support.quarantine_runtime import run_batch, runtime


def events_of(rt: LocalRuntime, user_id: str) -> int:
    return int(
        rt.client("dynamodb").query(
            TableName=rt.table_name("EventsTable"),
            IndexName="by_user_id",
            KeyConditionExpression="id_user_id = :id",
            ExpressionAttributeValues={":id": {"S": user_id}},
            Select="COUNT",
        )["Count"]
    )


def erased(user_id: str, **overrides: object) -> dict[str, object]:
    profile_id = f"prof-{uuid.uuid4()}"
    detail: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-23T12:00:00Z",
        "profile_id": profile_id,
        "profile_ids": [profile_id],
        "identifiers": {"user_id": [user_id]},
    }
    return detail | overrides


def test_a_poison_erasure_is_quarantined_once_and_the_next_erasures_delete() -> None:
    with runtime() as rt:
        # Given two customers with captured events
        for user_id in ("cus-e-1", "cus-e-3"):
            body = {"type": "track", "event": "Page Loved", "userId": user_id, "messageId": f"m-{uuid.uuid4()}"}
            assert rt.request("POST", "/v1/track", headers=WRITE_KEY_AUTH, body=body).status == 200
        rt.drain(timeout=60)
        assert events_of(rt, "cus-e-1") == events_of(rt, "cus-e-3") == 1

        # When their erasures reach capture with, between them, one whose identifiers are not lists
        poison = erased("cus-e-2", identifiers={"user_id": "cus-e-2"})
        run = run_batch(
            rt,
            "CaptureErasureFunction",
            [
                (PROFILES_SOURCE, "profile.erased", erased("cus-e-1")),
                (PROFILES_SOURCE, "profile.erased", poison),
                (PROFILES_SOURCE, "profile.erased", erased("cus-e-3")),
            ],
        )

        # Then the poison was handed over once and kept in the dead-letter queue with the failing field
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == poison["event_id"]
        assert kept.reason == "invalid detail.identifiers.user_id"
        # And both customers' events are gone
        assert events_of(rt, "cus-e-1") == events_of(rt, "cus-e-3") == 0
