"""Abandoned carts with an injectable clock: announced once per episode, never after an order or an emptied cart,
recovered by a later order; found through the due index."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from carts.logic.abandonment import sweep
from carts.logic.commerce_events import apply_event
from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import Channel
from omnichannel.cart_events import CartAbandoned, CartRecovered
from tests.support.carts_harness import T0, CartsHarness, commerce_event, login, product

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
PHONE = "anon-phone-abandon-1"


def _add(carts: CartsHarness, product_id: str = "P-COAT", minutes: float = 0) -> None:
    at = T0 + timedelta(minutes=minutes)
    event = commerce_event(
        "Product Added", product(product_id, "1299.90"), anonymous_id=PHONE, at=at, channel=Channel.APP
    )
    apply_event(carts.service, event)


def _sweep_at(carts: CartsHarness, minutes: float) -> list[CartAbandoned]:
    carts.clock.moment = T0 + timedelta(minutes=minutes)
    before = len(carts.published("cart.abandoned"))
    sweep(carts.service)
    return [CartAbandoned.model_validate(e.detail) for e in carts.published("cart.abandoned")[before:]]


def test_an_idle_cart_is_announced_once(carts: CartsHarness) -> None:
    # Given a cart with an item, logged in to a profile
    _add(carts)
    login(carts, "prof-1", "cus-1", PHONE)
    # Then nothing before the idle time (60 minutes)
    assert _sweep_at(carts, 59) == []
    # When it has been idle for longer
    announced = _sweep_at(carts, 61)
    # Then cart.abandoned, with items, value, last channel and profile
    assert len(announced) == 1
    event = announced[0]
    assert (event.episode, event.value, event.currency, event.last_channel, event.profile_id) == (
        1,
        announced[0].lines[0].unit_price,
        "TRY",
        Channel.APP,
        "prof-1",
    )
    assert [(line.product_id, line.quantity) for line in event.lines] == [("P-COAT", 1)]
    assert str(event.value) == "1299.90"
    # And never again for this episode
    assert _sweep_at(carts, 70) == []
    assert _sweep_at(carts, 600) == []


def test_new_activity_after_an_abandonment_starts_a_new_episode(carts: CartsHarness) -> None:
    _add(carts)
    assert len(_sweep_at(carts, 61)) == 1
    _add(carts, "P-HAT", minutes=90)
    assert _sweep_at(carts, 140) == []
    second = _sweep_at(carts, 151)
    assert [event.episode for event in second] == [2]
    assert second[0].event_id != carts.published("cart.abandoned")[0].event_id


def test_no_abandonment_after_an_order_or_an_emptied_cart(carts: CartsHarness) -> None:
    # Given a cart that ordered within the idle time
    _add(carts)
    order = commerce_event(
        "Order Completed",
        {"order_id": "O-1", "revenue": "1299.90", "currency": "TRY"},
        anonymous_id=PHONE,
        at=T0 + timedelta(minutes=30),
    )
    apply_event(carts.service, order)
    # And another that was emptied
    other = "anon-tablet-abandon-2"
    apply_event(carts.service, commerce_event("Product Added", product("P-1"), anonymous_id=other, at=T0))
    apply_event(carts.service, commerce_event("Product Removed", {"product_id": "P-1"}, anonymous_id=other, at=T0))
    # Then no sweep ever announces them
    assert _sweep_at(carts, 120) == []
    assert _sweep_at(carts, 24 * 60) == []
    # And an order with no abandonment before it recovers nothing
    assert carts.published("cart.recovered") == []


def test_an_order_after_an_abandonment_is_recovered_revenue_once(carts: CartsHarness) -> None:
    _add(carts)
    [abandoned] = _sweep_at(carts, 61)
    # When the customer orders two hours later (and the bus delivers the order twice)
    order = commerce_event(
        "Order Completed",
        {"order_id": "O-9", "revenue": 1299.9, "currency": "TRY", "products": [{"product_id": "P-COAT"}]},
        anonymous_id=PHONE,
        at=T0 + timedelta(hours=2),
        channel=Channel.WEB,
    )
    first = apply_event(carts.service, order)
    again = apply_event(carts.service, order)
    # Then cart.recovered with the revenue, once (the redelivery publishes the same event id again)
    recovered = [CartRecovered.model_validate(event.detail) for event in carts.published("cart.recovered")]
    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert len({event.event_id for event in recovered}) == 1
    assert (recovered[0].episode, str(recovered[0].revenue), recovered[0].order_id) == (1, "1299.90", "O-9")
    assert recovered[0].order_event_id == order.event_id
    assert recovered[0].abandoned_at == abandoned.occurred_at
    # And the cart is closed: empty, never announced again
    assert carts.service.resolve(f"CART#anonymous_id#{PHONE}").lines == ()
    assert _sweep_at(carts, 24 * 60) == []
    # And a second order recovers nothing more
    apply_event(
        carts.service, commerce_event("Order Completed", {"revenue": 5}, anonymous_id=PHONE, at=T0 + timedelta(hours=3))
    )
    assert len({event.event_id for event in carts.published("cart.recovered")}) == 1


def test_an_announcement_the_bus_refused_is_retried_with_the_same_id(carts: CartsHarness) -> None:
    _add(carts)
    carts.publisher.errors = {}
    original = carts.publisher.publish

    def failing(events):
        carts.publisher.fail_ids = {event.event_id for event in events}
        return original(events)

    carts.publisher.publish = failing  # type: ignore[method-assign]
    assert _sweep_at(carts, 61) == []
    carts.publisher.publish = original  # type: ignore[method-assign]
    carts.publisher.fail_ids = set()
    # Not before the retry time (15 minutes), then once, as episode 1
    assert _sweep_at(carts, 70) == []
    retried = _sweep_at(carts, 77)
    assert [event.episode for event in retried] == [1]
    assert _sweep_at(carts, 200) == []


def test_the_sweep_reads_only_due_carts(carts: CartsHarness) -> None:
    # Given many carts, few of them due
    for index in range(40):
        event = commerce_event(
            "Product Added", product("P-1"), anonymous_id=f"anon-many-{index:04d}", at=T0 + timedelta(minutes=index)
        )
        apply_event(carts.service, event)
    calls: list[str] = []
    carts.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    # When the sweep runs when the first 5 are due
    announced = _sweep_at(carts, 60 + 4.5)
    # Then it announced those 5 and touched only them: the index queries, one read and two writes each
    assert len(announced) == 5
    assert "Scan" not in calls
    assert calls.count("Query") == carts.service.rules.due_shards
    assert calls.count("GetItem") == 5
    assert calls.count("PutItem") == 10


def test_the_schedule_drives_the_sweep_in_the_local_runtime() -> None:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        status, _, _ = rt.request(
            "POST",
            "/carts/anonymous/lines",
            headers={"X-Anonymous-Id": "5b3c8f1e-0a2d-4c6e-9f7a-1d2e3f4a5b6c"},
            body={"product_id": "P-1", "quantity": 1, "unit_price": "10", "currency": "TRY"},
        )
        assert status == 200
        rt.drain()
        # Given the sweep function's clock two hours ahead
        wiring = rt.function_module("CartsAbandonmentFunction", "carts.wiring")
        real_now = wiring.utc_now
        wiring.override(clock=lambda: real_now() + timedelta(hours=2))
        # When the schedule fires (twice)
        rt.fire_schedule("CartsAbandonmentFunction")
        rt.fire_schedule("CartsAbandonmentFunction")
        rt.drain()
        # Then one cart.abandoned on the bus
        abandoned = [event for event in rt.bus_log() if event.get("detail-type") == "cart.abandoned"]
        assert len(abandoned) == 1
        assert abandoned[0]["detail"]["anonymous_id"] == "5b3c8f1e-0a2d-4c6e-9f7a-1d2e3f4a5b6c"
        assert abandoned[0]["detail"]["value"] == "10.00"
