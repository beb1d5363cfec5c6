"""The KPI rollup's queue, through the local runtime: an order dated in the year 9999 (issue 13: it raised
OverflowError and was retried 45 times) is quarantined once; the orders beside it are counted."""

from __future__ import annotations

from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.support.quarantine_runtime import canonical, run_batch, runtime


def order(order_id: str, *, at: str = "2026-11-23T12:00:00Z") -> dict[str, object]:
    return canonical(
        "Order Completed", {"user_id": f"cus-{order_id}"}, at=at, order_id=order_id, revenue="100.00", currency="TRY"
    )


def test_a_poison_order_is_quarantined_once_and_the_orders_beside_it_are_counted() -> None:
    with runtime() as rt:
        # Given two orders and, between them, one from the last day of the year 9999
        poison = order("o-2", at="9999-12-31T23:30:00Z")
        events = [order("o-1"), poison, order("o-3")]

        # When they reach the rollup's queue together
        run = run_batch(rt, "KpisRollupFunction", [(CAPTURE_SOURCE, "Order Completed", event) for event in events])

        # Then the poison was handed over once and kept with the error no retry changes
        assert run.records_delivered.count(str(poison["event_id"])) == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == poison["event_id"]
        assert kept.reason.startswith("OverflowError"), kept.reason
        # And the day's KPIs count the other two orders
        agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-q")}
        answer = rt.request(
            "GET", "/kpis", query={"start": "2026-11-23", "end": "2026-11-23", "granularity": "total"}, headers=agent
        )
        assert answer.status == 200, answer.body
        assert int(answer.json()["totals"]["orders"]) == 2


def test_an_order_without_a_currency_is_left_out_and_quarantined_only_from_a_verified_source() -> None:
    with runtime() as rt:
        # Given an order without a currency from the public key (anyone holds it), the same from a server key,
        # and a countable order
        public = canonical("Order Completed", {"user_id": "cus-p"}, at="2026-11-23T12:00:00Z", revenue="5")
        verified = {
            **canonical("Order Completed", {"user_id": "cus-v"}, at="2026-11-23T12:00:00Z", revenue="5"),
            "provenance": "verified",
        }
        events = [public, verified, order("o-9")]

        # When they reach the rollup's queue together
        run = run_batch(rt, "KpisRollupFunction", [(CAPTURE_SOURCE, "Order Completed", event) for event in events])

        # Then only the verified source's is quarantined (an integration to fix): the public key cannot fill the
        # dead-letter queue and keep its alarm ringing
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == verified["event_id"]
        assert "currency" in kept.reason
        # And the countable order is counted, the other two left out
        agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-q")}
        answer = rt.request(
            "GET", "/kpis", query={"start": "2026-11-23", "end": "2026-11-23", "granularity": "total"}, headers=agent
        )
        assert answer.status == 200, answer.body
        assert int(answer.json()["totals"]["orders"]) == 1
