"""Post-visit NPS (journeys/journey_definitions/post_visit_nps.yaml), through the local runtime with a moving clock:
a store visit, the question the next day on WhatsApp, a reply "3" that becomes an NPS answer (counted under the
store, where the experience happened) and a call task for an agent; quiet hours, consent, STOP, redelivery and
erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.journeys.harness import ISTANBUL, JourneyHarness

JOURNEY = "post_visit_nps"


def test_a_detractor_reply_on_whatsapp_becomes_an_nps_answer_and_a_call_task(journeys: JourneyHarness) -> None:
    # Given Ayşe, who opted in to WhatsApp, visits the Kadıköy store on Monday at 10:00
    ayse = journeys.customer("ayse", whatsapp="905321110001", consent={"whatsapp": True}, first_name="Ayşe")
    visited_at = journeys.local()
    journeys.track(ayse, "Store Visited", channel="store", properties={"store_id": "IST-KADIKOY"})

    # When almost a day passes, nothing is sent yet
    journeys.advance(hours=23, minutes=59)
    assert journeys.messages(ayse) == []

    # Then at Tuesday 10:00 she gets one WhatsApp question, the approved template with her name
    journeys.advance(minutes=1)
    [question] = journeys.messages(ayse)
    assert question.at.astimezone(ISTANBUL) == visited_at + timedelta(days=1)
    assert (question.channel, question.template, question.to) == ("whatsapp", "post_visit_nps", "+905321110001")
    assert question.text is not None
    assert question.text.startswith("Hi Ayşe, thank you for visiting our store.")

    # When she replies "3" an hour later (and WhatsApp delivers the reply twice)
    journeys.advance(hours=1)
    journeys.reply(ayse, "3", times=2)

    # Then one NPS answer of 3 is announced, under the store's channel, asked on WhatsApp, answered by reply
    [answer] = journeys.answers(ayse)
    assert answer["name"] == "Survey Answered"
    assert answer["channel"] == "store"
    assert answer["properties"] == {
        "nps": 3,
        "journey_id": JOURNEY,
        "survey_step": "ask_nps",
        "asked_on": "whatsapp",
        "answered_via": "reply",
    }
    assert answer["identifiers"] == {"user_id": ayse.user_id}
    # And one high-priority call task, due within a day, with the visit and the score as context
    [task] = journeys.tasks(ayse)
    assert (task["kind"], task["reason"], task["priority"]) == ("call", "nps_detractor", "high")
    assert task["note"].startswith("Ayşe answered 3 out of 10 after visiting store IST-KADIKOY.")
    assert task["context"]["touchpoint"]["event"] == "Store Visited"
    assert [(s["kind"], s["score"], s["via"]) for s in task["context"]["surveys"]] == [("nps", 3, "reply")]
    assert datetime.fromisoformat(task["due_at"]) - journeys.now.replace(microsecond=0) <= timedelta(days=1)
    # And her run is over; the funnel counts the detractor as followed up
    run = journeys.run(ayse, JOURNEY)
    assert run is not None
    assert (run["status"], run["end_reason"], run["answers"][0]["score"]) == ("finished", "completed", 3)
    funnel = journeys.funnel(JOURNEY)
    assert funnel["entered"] == 1
    assert funnel["sent"] == {"whatsapp": 1}
    assert funnel["surveys"]["nps"]["detractor"] == 1
    assert funnel["surveys"]["followed_up"] == 1
    assert funnel["surveys"]["follow_up_within"]["le_1h"] == 1
    assert [step["reached"] for step in funnel["steps"]] == [1, 1, 1, 1, 1]


def test_a_promoter_gets_no_task_and_an_unanswered_question_closes_after_three_days(journeys: JourneyHarness) -> None:
    # Given two customers who visit a store
    can = journeys.customer("can", whatsapp="905321110002", consent={"whatsapp": True})
    deniz = journeys.customer("deniz", whatsapp="905321110003", consent={"whatsapp": True})
    for customer in (can, deniz):
        journeys.track(customer, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})

    # When both are asked the next day, Can answers "10/10" and Deniz never answers
    journeys.advance(days=1, hours=2)
    journeys.reply(can, "10/10")
    journeys.advance(days=3)

    # Then Can's answer is a promoter's and no task follows; Deniz's question closed unanswered
    assert [a["properties"]["nps"] for a in journeys.answers(can)] == [10]
    assert journeys.tasks(can) == []
    assert journeys.answers(deniz) == []
    assert journeys.tasks(deniz) == []
    deniz_run = journeys.run(deniz, JOURNEY)
    assert deniz_run is not None
    assert deniz_run["status"] == "finished"
    assert deniz_run["answers"] == []
    surveys = journeys.funnel(JOURNEY)["surveys"]
    assert (surveys["asked"], surveys["answered"], surveys["expired"]) == (2, 1, 1)
    assert surveys["nps"]["score"] == 100.0
    # And a late "2" from Deniz after the question closed is a message, not an answer
    journeys.reply(deniz, "2")
    assert journeys.answers(deniz) == []


def test_quiet_hours_defer_the_question_to_nine_in_the_morning(journeys: JourneyHarness) -> None:
    # Given a customer who visits at 21:30 on Monday
    journeys.at(datetime(2026, 3, 2, 21, 30, tzinfo=ISTANBUL))
    elif_ = journeys.customer("elif", whatsapp="905321110004", consent={"whatsapp": True})
    journeys.track(elif_, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})

    # When Tuesday 21:30 comes (inside 21:00-09:00), nothing is sent
    journeys.advance(days=1)
    assert journeys.messages(elif_) == []
    run = journeys.run(elif_, JOURNEY)
    assert run is not None
    assert run["step"] == "ask_nps"
    assert run["due_at"] == "2026-03-04T06:00:00.000Z"  # 09:00 in Istanbul

    # Then the question goes out on Wednesday at 09:00 local time, once
    journeys.advance(hours=12)
    [question] = journeys.messages(elif_)
    assert question.at == datetime(2026, 3, 4, 9, 0, tzinfo=ISTANBUL).astimezone(UTC)
    assert journeys.funnel(JOURNEY)["deferred"] == 1


def test_without_consent_nothing_is_sent_and_a_stop_ends_every_journey_at_once(journeys: JourneyHarness) -> None:
    # Given one customer who never opted in, and one who opted in but replies STOP before the question
    fatma = journeys.customer("fatma", whatsapp="905321110005")
    gul = journeys.customer("gul", whatsapp="905321110006", consent={"whatsapp": True})
    for customer in (fatma, gul):
        journeys.track(customer, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(hours=5)
    journeys.reply(gul, "STOP")

    # When the day passes
    journeys.advance(days=4)

    # Then neither got anything: Fatma's question was skipped for want of a channel, Gül left the journey at STOP
    assert journeys.messages(fatma) == []
    assert journeys.messages(gul) == []
    fatma_run, gul_run = journeys.run(fatma, JOURNEY), journeys.run(gul, JOURNEY)
    assert fatma_run is not None
    assert fatma_run["status"] == "finished"
    assert gul_run is not None
    assert (gul_run["status"], gul_run["end_reason"]) == ("exited", "stop")
    funnel = journeys.funnel(JOURNEY)
    assert funnel["skipped"] == {"no_channel": 1}
    assert funnel["exited"] == {"stop": 1}


def test_redelivered_events_and_a_second_sweep_send_once(journeys: JourneyHarness) -> None:
    # Given a visit delivered three times
    hakan = journeys.customer("hakan", whatsapp="905321110007", consent={"whatsapp": True})
    journeys.track(hakan, "Store Visited", channel="store", properties={"store_id": "IST-MODA"}, times=3)

    # When the question comes due and the sweep runs twice at that minute
    journeys.advance(days=1)
    journeys.sweep()

    # Then one run, one question, announced once
    assert len(journeys.messages(hakan)) == 1
    assert journeys.publications("message.requested") == 1
    assert journeys.funnel(JOURNEY)["entered"] == 1


def test_an_erased_customer_leaves_every_journey_and_nothing_of_them_stays(journeys: JourneyHarness) -> None:
    # Given a customer who was asked the question
    irem = journeys.customer("irem", whatsapp="905321110008", consent={"whatsapp": True})
    journeys.track(irem, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)
    assert len(journeys.messages(irem)) == 1

    # When an admin erases her, then her reply and the survey deadline come
    journeys.erase(irem)
    journeys.reply(irem, "2")
    journeys.advance(days=4)

    # Then the journeys keep nothing of her, and nothing more happened
    assert journeys.journeys_of(irem) == {"profile_id": irem.profile_id, "journeys": [], "sent": []}
    assert journeys.answers(irem) == []
    assert journeys.tasks(irem) == []
    assert len(journeys.messages(irem)) == 1
    items = journeys.rt.client("dynamodb").query(
        TableName=journeys.rt.table_name("JourneysTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"P#{irem.profile_id}"}},
    )["Items"]
    assert items == []
