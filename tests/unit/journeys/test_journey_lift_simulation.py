"""Lift from a simulated population: 10,000 customers buy a coffee machine and enter the shipped cross-sell
journey (10 % held out by hash). A customer who received the e-mail buys coffee with probability 13 %, anyone
else with 10 %: the true lift is +3 percentage points (+30 %). The journey's reported lift and its intervals must
contain it. Fixed seed; the engine and service as in production, on the in-memory stores."""

from __future__ import annotations

import random

from journeys.logic.funnel import funnel
from omnichannel.journey_events import JourneyEventType
from tests.support.journey_memory import MemoryJourneys

CUSTOMERS = 10_000
BASE_RATE, TREATED_RATE = 0.10, 0.13
MACHINE = {"product_id": "P-ESP-1", "name": "Espresso Pro", "category": "coffee_machines"}
BEANS = {"product_id": "P-BEAN-1", "name": "Ethiopia beans", "category": "coffee"}


def test_the_reported_lift_and_its_intervals_contain_the_true_effect() -> None:
    # Given 10,000 customers who opted in to e-mail and bought a coffee machine
    rng = random.Random(20261203)
    world = MemoryJourneys()
    people = [
        world.customer(f"sim-{n:05d}", email=f"c{n}@kahve.com.tr", consent={"email": True}) for n in range(CUSTOMERS)
    ]
    for person in people:
        world.track(person, "Order Completed", order_id=f"O-{person.profile_id}", products=[MACHINE])

    # When the journey runs its three days, and then each buys coffee with the probability their group has
    world.advance(days=3, hours=1)
    treated = {detail["profile_id"] for detail in world.published(JourneyEventType.MESSAGE_REQUESTED.value)}
    world.advance(days=2)
    for person in people:
        if rng.random() < (TREATED_RATE if person.profile_id in treated else BASE_RATE):
            world.track(person, "Order Completed", order_id=f"B-{person.profile_id}", products=[BEANS])

    # Then everyone entered once, about a tenth held out, and only the others got the e-mail
    definition = world.engine.registry.latest("cross_sell_coffee")
    assert definition is not None
    figures = funnel(definition, world.store.counters("cross_sell_coffee"))
    assert figures["entered"] + figures["held_out"] == CUSTOMERS
    assert 900 <= figures["held_out"] <= 1100
    assert len(treated) == figures["entered"] == figures["sent"]["email"]
    # And the true effect (+0.03 absolute, +30 % relative) lies in the reported 95 % intervals
    lift = figures["lift"]
    low, high = lift["absolute_interval"]
    assert low < TREATED_RATE - BASE_RATE < high
    rel_low, rel_high = lift["relative_interval"]
    assert rel_low < TREATED_RATE / BASE_RATE - 1 < rel_high
    # And the estimate is an estimate of it: within two standard errors, with the counts it was computed from
    assert abs(lift["absolute"] - (TREATED_RATE - BASE_RATE)) < 0.025
    assert lift["converted"] == figures["converted"]
    assert lift["converted_held_out"] == figures["converted_held_out"]
    print(
        f"lift from {CUSTOMERS} simulated customers: {lift['absolute']:+.4f} (95 % Newcombe {low:+.4f} .. "
        f"{high:+.4f}), relative {lift['relative']:+.3f} ({rel_low:+.3f} .. {rel_high:+.3f}); "
        f"treated {lift['converted']}/{lift['entered']}, held out {lift['converted_held_out']}/{lift['held_out']}; "
        f"true +0.0300 / +0.300"
    )
