"""The three ways a survey answer comes back, through the local runtime: a WhatsApp reply through capture's real
signed webhook, a signed one-click link in an e-mail (the journeys survey route), and ``Survey Answered`` sent
through the tracking API (capture announces it; journeys close the question without announcing it again)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

from tests.journeys.harness import ISTANBUL, Customer, JourneyHarness

JOURNEY = "post_visit_nps"


def _asked(journeys: JourneyHarness, customer: Customer) -> None:
    journeys.track(customer, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)


def test_a_reply_through_the_signed_whatsapp_webhook_answers_the_question() -> None:
    # Given a harness whose clock is behind the real one (capture dates a webhook message by the provider, and
    # refuses one dated after tomorrow): 10:00 in Istanbul two days ago, so the question goes out the next morning
    # whatever the time of day the test runs (an evening start would put it in quiet hours)
    two_days_ago = datetime.now(ISTANBUL).date() - timedelta(days=2)
    start = datetime.combine(two_days_ago, time(10, 0), tzinfo=ISTANBUL)
    with JourneyHarness.start(start) as journeys:
        ayse = journeys.customer("ayse", whatsapp="905321110020", consent={"whatsapp": True})
        _asked(journeys, ayse)
        assert [m.channel for m in journeys.messages(ayse)] == ["whatsapp"]

        # When she answers "5" through Meta's signed webhook
        journeys.advance(minutes=30)
        journeys.whatsapp_webhook_reply(ayse, "5")

        # Then capture's Message Received became her NPS answer, and a detractor's call task followed
        [answer] = journeys.answers(ayse)
        assert (answer["properties"]["nps"], answer["properties"]["answered_via"]) == (5, "reply")
        assert len(journeys.tasks(ayse)) == 1


def test_a_signed_link_answers_once_and_a_forged_or_expired_one_is_refused(journeys: JourneyHarness) -> None:
    # Given a customer reachable by e-mail only, asked by e-mail with a one-click link
    burak = journeys.customer("burak", email="burak@eposta.com.tr", consent={"email": True})
    _asked(journeys, burak)
    [question] = journeys.messages(burak)
    assert question.channel == "email"
    assert question.text is not None
    link = urlsplit(question.text.rsplit(" ", 1)[-1])
    assert link.path == "/journeys/surveys/answer"
    token = parse_qs(link.query)["token"][0]

    # When the link is opened without a score, the scale is shown; with score 9, the answer is recorded
    page = journeys.rt.request("GET", link.path, query={"token": token})
    assert page.status == 200
    assert "score=10" in page.body.decode()
    answered = journeys.rt.request("GET", link.path, query={"token": token, "score": "9"})
    assert answered.status == 200
    assert "Thank you! Your answer was recorded." in answered.body.decode()
    journeys.settle()

    # Then one Survey Answered (via the link, counted under the store) and no task for a promoter
    [answer] = journeys.answers(burak)
    assert answer["properties"]["nps"] == 9
    assert answer["properties"]["answered_via"] == "link"
    assert answer["channel"] == "store"
    assert journeys.tasks(burak) == []
    # And a second click does not change it
    again = journeys.rt.request("POST", link.path, body={"token": token, "score": 0})
    assert (again.status, again.json()) == (200, {"outcome": "already_answered"})
    assert [a["properties"]["nps"] for a in journeys.answers(burak)] == [9]

    # And a forged token, a score off the scale and an expired link are refused, naming the field
    forged = journeys.rt.request("POST", link.path, body={"token": token[:-4] + "AAAA", "score": 9})
    assert forged.status == 400
    assert forged.json()["errors"][0]["field"] == "token"
    off_scale = journeys.rt.request("POST", link.path, body={"token": token, "score": 11})
    assert off_scale.status == 400
    assert off_scale.json()["errors"][0]["field"] == "score"
    journeys.advance(days=5)
    expired = journeys.rt.request("POST", link.path, body={"token": token, "score": 9})
    assert expired.status == 410
    assert expired.json()["code"] == "link_expired"


def test_an_answer_through_the_tracking_api_closes_the_question_without_a_second_announcement(
    journeys: JourneyHarness,
) -> None:
    # Given a customer asked on WhatsApp
    cansu = journeys.customer("cansu", whatsapp="905321110021", consent={"whatsapp": True})
    _asked(journeys, cansu)

    # When her app sends Survey Answered (nps 4) through the tracking API (capture puts it on the bus)
    journeys.track(cansu, "Survey Answered", channel="app", properties={"nps": 4, "journey_id": JOURNEY})

    # Then the question is answered and followed up, and journeys announce no second Survey Answered
    run = journeys.run(cansu, JOURNEY)
    assert run is not None
    assert [(a["score"], a["via"]) for a in run["answers"]] == [(4, "tracking")]
    assert len(journeys.tasks(cansu)) == 1
    assert journeys.answers(cansu) == []
