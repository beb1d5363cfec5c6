"""First-purchase follow-up after five days (first_purchase_follow_up.yaml), cross-sell after a coffee machine
(cross_sell_coffee.yaml) and the welcome call for a high-value first order (high_value_first_order_call.yaml),
through the local runtime with a moving clock; with the frequency cap across journeys."""

from __future__ import annotations

from datetime import timedelta

from tests.journeys.harness import ISTANBUL, JourneyHarness

MACHINE = {"product_id": "P-ESP-1", "name": "Espresso Pro", "category": "coffee_machines", "price": 14999.0}
BEANS = {"product_id": "P-BEAN-1", "name": "Ethiopia beans", "category": "coffee", "price": 449.0}


def test_five_days_after_a_first_order_the_consultation_offer_goes_out_by_email(journeys: JourneyHarness) -> None:
    # Given a customer who opted in to e-mail, whose first order made them an "experimentation" customer
    rana = journeys.customer("rana", email="rana@eposta.com.tr", consent={"email": True})
    started = journeys.local()
    journeys.lifecycle(rana, "experimentation", previous="acquisition", frequency=1, times=2)

    # When four days pass nothing is sent; on the fifth the offer goes out by e-mail, once
    journeys.advance(days=4)
    assert journeys.messages(rana) == []
    journeys.advance(days=1)
    [offer] = journeys.messages(rana)
    assert offer.at.astimezone(ISTANBUL) == started + timedelta(days=5)
    assert (offer.channel, offer.to) == ("email", "rana@eposta.com.tr")
    assert offer.subject == "Rana, a free consultation on your new purchase"
    assert journeys.funnel("first_purchase_follow_up")["sent"] == {"email": 1}


def test_a_booked_consultation_is_the_goal_and_a_returning_customer_is_no_first_order(journeys: JourneyHarness) -> None:
    # Given a first-time customer who books a consultation on day 2, and a lapsed customer ordering again
    selin = journeys.customer("selin", email="selin@eposta.com.tr", consent={"email": True})
    tamer = journeys.customer("tamer", email="tamer@eposta.com.tr", consent={"email": True})
    journeys.lifecycle(selin, "experimentation", previous=None, frequency=1)
    journeys.lifecycle(tamer, "experimentation", previous="retention", frequency=2)
    journeys.advance(days=2)
    journeys.track(selin, "Consultation Booked", channel="store")

    # When the five days are over
    journeys.advance(days=4)

    # Then nobody got the offer: Selin reached the goal (and left), Tamer never entered
    assert journeys.messages(selin) == []
    assert journeys.messages(tamer) == []
    run = journeys.run(selin, "first_purchase_follow_up")
    assert run is not None
    assert (run["status"], run["end_reason"]) == ("exited", "goal")
    assert journeys.run(tamer, "first_purchase_follow_up") is None
    funnel = journeys.funnel("first_purchase_follow_up")
    assert (funnel["entered"], funnel["converted"]) == (1, 1)


def test_a_coffee_machine_buyer_gets_the_beans_email_three_days_later_unless_they_bought_coffee(
    journeys: JourneyHarness,
) -> None:
    # Given two customers who buy a coffee machine; one buys beans the next day, the other returns it
    umut = journeys.customer("umut", email="umut@eposta.com.tr", consent={"email": True})
    veli = journeys.customer("veli", email="veli@eposta.com.tr", consent={"email": True})
    yesim = journeys.customer("yesim", email="yesim@eposta.com.tr", consent={"email": True})
    for customer in (umut, veli, yesim):
        journeys.track(
            customer, "Order Completed", properties={"order_id": f"O-{customer.name}", "products": [MACHINE]}
        )
    journeys.advance(days=1)
    journeys.track(veli, "Order Completed", properties={"order_id": "O-veli-2", "products": [BEANS]})
    journeys.track(yesim, "Order Refunded", properties={"order_id": "O-yesim", "products": [MACHINE]})

    # When three days pass
    journeys.advance(days=2)

    # Then only Umut gets the e-mail, naming the machine he bought
    [email] = journeys.messages(umut)
    assert email.channel == "email"
    assert email.subject == "Umut, the best beans for your new machine"
    assert email.text is not None
    assert "enjoy your new Espresso Pro?" in email.text
    assert journeys.messages(veli) == []
    assert journeys.messages(yesim) == []
    # And Veli converted (beans within 30 days) while Yeşim's refund ended her run
    funnel = journeys.funnel("cross_sell_coffee")
    assert (funnel["entered"], funnel["converted"], funnel["exited"]) == (3, 1, {"exit_event": 1})
    # And an order without a coffee machine starts nothing
    zeki = journeys.customer("zeki", email="zeki@eposta.com.tr", consent={"email": True})
    journeys.track(zeki, "Order Completed", properties={"order_id": "O-zeki", "products": [BEANS]})
    assert journeys.run(zeki, "cross_sell_coffee") is None


def test_the_frequency_cap_holds_across_journeys() -> None:
    # Given a customer in two journeys whose messages fall in the same week, under a cap of 1 per 7 days
    with JourneyHarness.start(parameters={"JourneyFrequencyCap": "1/7d"}) as capped:
        ece = capped.customer("ece", email="ece@eposta.com.tr", consent={"email": True})
        capped.track(ece, "Order Completed", properties={"order_id": "O-ece", "products": [MACHINE]})
        capped.lifecycle(ece, "experimentation", previous="acquisition", frequency=1)

        # When both journeys' waits end (3 days, then 5 days)
        capped.advance(days=6)

        # Then the first message went out and the second was capped
        assert [message.journey for message in capped.messages(ece)] == ["cross_sell_coffee"]
        assert capped.funnel("first_purchase_follow_up")["skipped"] == {"capped": 1}


def test_a_high_value_first_order_gets_a_call_task_and_a_vip_the_store_manager(journeys: JourneyHarness) -> None:
    # Given a regular and a VIP customer placing first orders of 7,500 TRY, and one of 1,200 TRY
    arda = journeys.customer("arda")
    bora = journeys.customer("bora", vip=True)
    cem = journeys.customer("cem")
    journeys.lifecycle(arda, "experimentation", frequency=1, monetary="7500.00", times=2)
    journeys.lifecycle(bora, "experimentation", frequency=1, monetary="7500.00")
    journeys.lifecycle(cem, "experimentation", frequency=1, monetary="1200.00")

    # Then Arda gets one call task due within a day, Bora an urgent one for the store, Cem none
    [call] = journeys.tasks(arda)
    assert (call["kind"], call["reason"], call["priority"]) == ("call", "high_value_first_order", "high")
    assert call["note"] == "Arda placed a first order worth 7500.00 TRY: thank them, offer help."
    [vip_call] = journeys.tasks(bora)
    assert (vip_call["reason"], vip_call["priority"]) == ("high_value_first_order_vip", "urgent")
    assert journeys.tasks(cem) == []
    funnel = journeys.funnel("high_value_first_order_call")
    assert (funnel["entered"], funnel["tasks"]) == (2, 2)
    assert {step["id"]: step["reached"] for step in funnel["steps"]} == {
        "vip": 2,
        "store_call": 1,
        "agent_call": 1,
        "done": 2,
    }
