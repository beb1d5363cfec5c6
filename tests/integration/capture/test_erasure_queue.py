"""Capture's erasure queue, through the local runtime: a poison ``events.erasure_requested`` is quarantined once, the
next requests delete the customers' events (named by id: the events table has no index by identifier)."""

from __future__ import annotations

import uuid

from local_runtime.runtime import LocalRuntime
from omnichannel.identifiers import IdentifierType, identifier_digest
from omnichannel.profile_events import PROFILES_SOURCE
from omnichannel.stored_event import decode_event
from tests.e2e.test_cart_journey import WRITE_KEY_AUTH
from tests.support.quarantine_runtime import run_batch, runtime


def event_ids_of(rt: LocalRuntime, user_id: str) -> list[str]:
    """The stored events carrying ``user_id`` (a scan: the local table is small)."""
    client = rt.client("dynamodb")
    items = client.scan(TableName=rt.table_name("EventsTable"))["Items"]
    events = [decode_event(item) for item in items if item["sk"]["S"] == "EVENT"]
    return [event.event_id for event in events if event.identifiers.get(IdentifierType.USER_ID) == user_id]


def request(user_id: str, event_ids: object, **overrides: object) -> dict[str, object]:
    profile_id = f"prof-{uuid.uuid4()}"
    detail: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-23T12:00:00Z",
        "profile_id": profile_id,
        "profile_ids": [profile_id],
        "erased": [identifier_digest("user_id", user_id)],
        "event_ids": event_ids,
    }
    return detail | overrides


def test_a_poison_erasure_request_is_quarantined_once_and_the_next_requests_delete() -> None:
    with runtime() as rt:
        # Given two customers with captured events
        for user_id in ("cus-e-1", "cus-e-3"):
            body = {"type": "track", "event": "Page Loved", "userId": user_id, "messageId": f"m-{uuid.uuid4()}"}
            assert rt.request("POST", "/v1/track", headers=WRITE_KEY_AUTH, body=body).status == 200
        rt.drain(timeout=60)
        first, third = event_ids_of(rt, "cus-e-1"), event_ids_of(rt, "cus-e-3")
        assert len(first) == len(third) == 1

        # When their erasure requests reach capture with, between them, one whose event ids are not a list
        poison = request("cus-e-2", "not-a-list")
        run = run_batch(
            rt,
            "CaptureErasureFunction",
            [
                (PROFILES_SOURCE, "events.erasure_requested", request("cus-e-1", first)),
                (PROFILES_SOURCE, "events.erasure_requested", poison),
                (PROFILES_SOURCE, "events.erasure_requested", request("cus-e-3", third)),
            ],
        )

        # Then the poison was handed over once and kept in the dead-letter queue with the failing field
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == poison["event_id"]
        assert kept.reason == "invalid detail.event_ids"
        # And both customers' events are gone
        assert event_ids_of(rt, "cus-e-1") == event_ids_of(rt, "cus-e-3") == []
