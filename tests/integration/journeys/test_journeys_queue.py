"""The journeys' queue, through the local runtime: an event the journeys can never read is quarantined once in
the queue's dead-letter queue, with its reason; the events beside it are handled once and not retried."""

from __future__ import annotations

from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.support.quarantine_runtime import canonical, run_batch, runtime


def test_a_malformed_event_is_quarantined_once_and_the_events_beside_it_are_done() -> None:
    with runtime() as rt:
        # Given two orders of customers (days ago: nothing to wait for) and, between them, an order whose detail
        # is no canonical event
        first = canonical("Order Completed", {"user_id": "cus-j-1"}, order_id="oj-1", revenue="10.00", currency="TRY")
        poison = {"event_id": "poison-j", "type": "nonsense"}
        third = canonical("Store Visited", {"user_id": "cus-j-3"}, store_id="S-1")

        # When they reach the journeys' queue together
        run = run_batch(
            rt,
            "JourneysEventsFunction",
            [
                (CAPTURE_SOURCE, "Order Completed", first),
                (CAPTURE_SOURCE, "Order Completed", poison),
                (CAPTURE_SOURCE, "Store Visited", third),
            ],
        )

        # Then the poison was handed over once and is kept in the dead-letter queue with its reason
        assert run.records_delivered.count("poison-j") == 1
        [kept] = run.quarantined
        assert kept.body["detail"]["event_id"] == "poison-j"
        assert kept.reason == "dropped:ValidationError"
        assert kept.consumer.endswith("JourneysEventsFunction")
        # And its batch-mates were handed over once each: done, not failed (a failed record comes back)
        assert run.records_delivered.count(str(first["event_id"])) == 1
        assert run.records_delivered.count(str(third["event_id"])) == 1
