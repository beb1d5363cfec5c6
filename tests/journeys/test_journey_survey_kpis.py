"""The KPIs count a survey answer once whichever way it came back: a signed link (the journeys function announces
``Survey Answered`` on source ``omnichannel.journeys``; template.yaml's rule routes it to the KPI consumer) or the
tracking API (capture announces it; journeys do not announce it again)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from omnichannel.journey_events import JOURNEYS_SOURCE, SURVEY_ANSWERED
from tests.journeys.harness import JourneyHarness

JOURNEY = "post_visit_nps"


def test_nps_counts_link_and_tracking_answers_once_each(journeys: JourneyHarness) -> None:
    # Given two customers asked after a store visit: Burak by e-mail (a signed link), Cansu on WhatsApp
    burak = journeys.customer("burak", email="burak@eposta.com.tr", consent={"email": True})
    cansu = journeys.customer("cansu", whatsapp="905321110021", consent={"whatsapp": True})
    first_day = journeys.local().date()
    for customer in (burak, cansu):
        journeys.track(customer, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)
    [question] = journeys.messages(burak)
    assert question.text is not None
    link = urlsplit(question.text.rsplit(" ", 1)[-1])
    token = parse_qs(link.query)["token"][0]

    # When Burak answers 9 through the link, Cansu's app sends nps 4 through the tracking API
    assert journeys.rt.request("GET", link.path, query={"token": token, "score": "9"}).status == 200
    journeys.settle()
    journeys.track(cansu, "Survey Answered", channel="store", properties={"nps": 4, "journey_id": JOURNEY})
    # And the journeys' announcement of Burak's answer is delivered a second time (at-least-once)
    [announced] = journeys.answers(burak)
    journeys.rt.put_event(SURVEY_ANSWERED, announced, source=JOURNEYS_SOURCE)
    journeys.settle()
    assert journeys.answers(cansu) == []

    # Then the KPI API counts two answers: one promoter, one detractor, an NPS of 0
    answer = journeys.rt.request(
        "GET",
        "/kpis",
        headers=journeys.headers("agent"),
        query={"start": first_day.isoformat(), "end": journeys.local().date().isoformat(), "granularity": "total"},
    )
    assert answer.status == 200, answer.body
    totals = answer.json()["totals"]
    figures = {name: Decimal(str(totals[name])) for name in ("nps_responses", "nps_promoters", "nps_detractors")}
    assert figures == {"nps_responses": 2, "nps_promoters": 1, "nps_detractors": 1}
    assert Decimal(str(totals["nps"])) == 0
