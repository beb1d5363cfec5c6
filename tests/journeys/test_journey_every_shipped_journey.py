"""Every shipped journey, in one runtime: its trigger delivered twice starts one run and acts once, and an erased
customer leaves it at once, with nothing of them kept and nothing more sent as the clock runs on."""

from __future__ import annotations

from collections.abc import Callable

from tests.journeys.harness import Customer, JourneyHarness

MACHINE = {"product_id": "P-ESP-1", "name": "Espresso Pro", "category": "coffee_machines"}
TRIGGERS: dict[str, Callable[[JourneyHarness, Customer], object]] = {
    "post_visit_nps": lambda j, c: j.track(c, "Store Visited", channel="store", properties={"store_id": "S1"}, times=2),
    "recovery_feedback": lambda j, c: j.lifecycle(c, "recovery", previous="retention", times=2),
    "first_purchase_follow_up": lambda j, c: j.lifecycle(c, "experimentation", previous="acquisition", times=2),
    "cross_sell_coffee": lambda j, c: j.track(c, "Order Completed", properties={"products": [MACHINE]}, times=2),
    "high_value_first_order_call": lambda j, c: j.lifecycle(c, "experimentation", monetary="9000.00", times=2),
}


def test_every_shipped_journey_acts_once_on_redelivery_and_forgets_an_erased_customer(
    journeys: JourneyHarness,
) -> None:
    assert sorted(TRIGGERS) == journeys.journey_ids  # a new shipped journey gets its line here
    # Given, per journey, two customers reachable everywhere whose trigger is delivered twice
    kept: dict[str, Customer] = {}
    erased: dict[str, Customer] = {}
    for index, journey_id in enumerate(journeys.journey_ids):
        for group, name in ((kept, "kept"), (erased, "gone")):
            number = f"9053211{index}{len(group) + (10 if group is erased else 0):03d}"
            customer = journeys.customer(
                f"{name}_{journey_id}",
                whatsapp=number,
                email=f"{name}.{journey_id}@eposta.com.tr",
                consent={"whatsapp": True, "sms": True, "email": True},
            )
            TRIGGERS[journey_id](journeys, customer)
            group[journey_id] = customer

    # When one of each pair is erased, and the clock runs on past every wait and goal window
    def received(customer: Customer) -> int:
        return len(journeys.messages(customer)) + len(journeys.tasks(customer)) + len(journeys.rewards(customer))

    before = {journey_id: received(customer) for journey_id, customer in erased.items()}
    for customer in erased.values():
        journeys.erase(customer)
    journeys.advance(days=100)

    for journey_id in journeys.journey_ids:
        # Then the kept customer entered once and got each of the journey's effects once
        run = journeys.run(kept[journey_id], journey_id)
        assert run is not None, journey_id
        assert run["run"] == 1, journey_id
        assert run["status"] in ("finished", "exited"), (journey_id, run)
        customer = kept[journey_id]
        steps = [m.step for m in journeys.messages(customer) if m.journey == journey_id]
        steps += [t["step_id"] for t in journeys.tasks(customer) if t["journey_id"] == journey_id]
        steps += [r["step_id"] for r in journeys.rewards(customer) if r["journey_id"] == journey_id]
        assert steps, journey_id
        assert len(steps) == len(set(steps)), (journey_id, steps)  # each step's effect once
        # And the erased one has nothing left and received nothing after the erasure
        gone = erased[journey_id]
        assert journeys.journeys_of(gone) == {"profile_id": gone.profile_id, "journeys": [], "sent": []}
        assert received(gone) == before[journey_id], journey_id
