"""Carts' queue, through the local runtime: a poison event (a product added in the year 9999, issue 13) is
quarantined once, the next events change their carts, and the poison never reaches a cart."""

from __future__ import annotations

import uuid

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.support.quarantine_runtime import canonical, run_batch, runtime


def lines(rt: LocalRuntime, anonymous_id: str) -> list[str]:
    answer = rt.request("GET", "/carts/anonymous", headers={"X-Anonymous-Id": anonymous_id})
    assert answer.status == 200, answer.body
    return [line["product_id"] for line in answer.json()["lines"]]


def added(anonymous_id: str, product_id: str, **overrides: str) -> dict[str, object]:
    return canonical(
        "Product Added", {"anonymous_id": anonymous_id}, product_id=product_id, price="10.00", currency="TRY",
        **overrides,
    )  # fmt: skip


def test_a_poison_event_is_quarantined_once_and_the_next_events_change_their_carts() -> None:
    with runtime() as rt:
        # Given three product additions from three devices; the middle one happened on the last day of the year 9999
        first, second, third = (str(uuid.uuid4()) for _ in range(3))  # device cart credentials are UUIDv4s
        poison = {**added(second, "P-2"), "occurred_at": "9999-12-31T23:30:00Z"}
        events = [added(first, "P-1"), poison, added(third, "P-3")]

        # When they reach carts' queue together
        run = run_batch(rt, "CartsEventsFunction", [(CAPTURE_SOURCE, "Product Added", event) for event in events])

        # Then the poison was handed over once and kept with the error that no retry changes
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == poison["event_id"]
        assert kept.reason.startswith("OverflowError")
        # And the other carts have their product; the poison's device has no cart (its reads do not fail)
        assert lines(rt, first) == ["P-1"]
        assert lines(rt, third) == ["P-3"]
        assert lines(rt, second) == []
