"""Recovery-stage feedback survey (journeys/journey_definitions/recovery_feedback.yaml): a customer slipping into
recovery is asked a CSAT question on their preferred channel; a low score opens a follow-up task, any other
answer (or none) earns a come-back coupon; a customer with no consented channel gets a call instead. The holdout
group gets nothing, and the lift compares their orders with the others'."""

from __future__ import annotations

from tests.journeys.harness import JourneyHarness

JOURNEY = "recovery_feedback"


def test_a_low_csat_on_the_preferred_channel_opens_a_follow_up_task(journeys: JourneyHarness) -> None:
    # Given a customer who prefers SMS (and opted in to SMS and WhatsApp)
    kaan = journeys.customer(
        "kaan", whatsapp="905321110010", consent={"whatsapp": True, "sms": True}, preferred_channel="sms"
    )

    # When they slip into recovery (announced twice)
    journeys.lifecycle(kaan, "recovery", previous="retention", frequency=4, monetary="3200.00", times=2)

    # Then one CSAT question goes out at once, by SMS
    [question] = journeys.messages(kaan)
    assert (question.channel, question.to, question.template) == ("sms", "+905321110010", "recovery_feedback.ask_csat")
    assert question.text == "Hi Kaan, how satisfied were you with your last experience with us? Reply 1-5."

    # When they answer "1" by SMS
    journeys.advance(hours=3)
    journeys.reply(kaan, "1", channel="sms")

    # Then a follow-up task with the answer and the stage, and no coupon
    [task] = journeys.tasks(kaan)
    assert (task["kind"], task["reason"], task["priority"]) == ("follow_up", "low_csat_recovery", "high")
    assert task["note"] == "Kaan rated us 1/5 after six months without an order (recovery)."
    assert journeys.rewards(kaan) == []
    [answer] = journeys.answers(kaan)
    assert answer["properties"]["csat"] == 1
    assert answer["channel"] == "sms"  # no touchpoint: the channel it was asked on
    surveys = journeys.funnel(JOURNEY)["surveys"]
    assert surveys["csat"]["unsatisfied"] == 1
    assert (surveys["low_answers"], surveys["followed_up"]) == (1, 1)


def test_a_happy_or_silent_customer_gets_a_coupon_and_an_unreachable_one_a_call(journeys: JourneyHarness) -> None:
    # Given a customer who will answer 4, one who will not answer, one with no consented channel
    lale = journeys.customer("lale", whatsapp="905321110011", consent={"whatsapp": True})
    mert = journeys.customer("mert", whatsapp="905321110012", consent={"whatsapp": True})
    nur = journeys.customer("nur", whatsapp="905321110013", consent={"whatsapp": False})
    for customer in (lale, mert, nur):
        journeys.lifecycle(customer, "recovery", previous="retention")

    # When Lale answers 4 and five days pass
    journeys.reply(lale, "Puanım 4")
    journeys.advance(days=5)

    # Then Lale and Mert each get one 15 % coupon valid for 30 days; Nur, unreachable, gets a call task instead
    for customer in (lale, mert):
        [reward] = journeys.rewards(customer)
        assert (reward["kind"], reward["campaign"], reward["value"]) == ("coupon", "COMEBACK15", "15%")
        assert journeys.tasks(customer) == []
    assert journeys.messages(nur) == []
    assert journeys.rewards(nur) == []
    [call] = journeys.tasks(nur)
    assert (call["kind"], call["reason"]) == ("call", "recovery_unreachable")
    assert [a["properties"]["csat"] for a in journeys.answers(lale)] == [4]
    assert journeys.funnel(JOURNEY)["rewards"] == 2


def test_the_holdout_gets_nothing_and_both_groups_conversions_make_the_lift(journeys: JourneyHarness) -> None:
    # Given a customer in the treatment group and one held out of this journey (stable: it is their id's hash)
    olcay = journeys.customer("olcay", whatsapp="905321110014", consent={"whatsapp": True})
    pinar = journeys.customer("pinar", whatsapp="905321110015", consent={"whatsapp": True}, held_out_of=[JOURNEY])
    assert journeys.in_holdout(JOURNEY, pinar.profile_id)
    assert not journeys.in_holdout(JOURNEY, olcay.profile_id)

    # When both slip into recovery and both order within the goal's 60 days
    for customer in (olcay, pinar):
        journeys.lifecycle(customer, "recovery", previous="retention")
    journeys.advance(days=10)
    for customer in (olcay, pinar):
        journeys.track(customer, "Order Completed", channel="web", properties={"order_id": f"O-{customer.name}"})

    # Then only the treatment customer was asked, and both conversions are counted, each in its group
    assert len(journeys.messages(olcay)) == 1
    assert journeys.messages(pinar) == []
    assert journeys.rewards(pinar) == []
    assert journeys.tasks(pinar) == []
    held = journeys.run(pinar, JOURNEY)
    assert held is not None
    assert (held["group"], held["status"]) == ("holdout", "held_out")
    assert held["converted_at"] is not None
    funnel = journeys.funnel(JOURNEY)
    assert (funnel["entered"], funnel["held_out"]) == (1, 1)
    assert (funnel["converted"], funnel["converted_held_out"]) == (1, 1)
    lift = funnel["lift"]
    assert (lift["treatment_rate"], lift["holdout_rate"], lift["absolute"]) == (1.0, 1.0, 0.0)
    assert lift["absolute_interval"][0] < 0 < lift["absolute_interval"][1]
