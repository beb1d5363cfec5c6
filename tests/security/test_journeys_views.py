"""The journeys a staff member sees on a Customer 360 (``GET /journeys/customers/{profile_id}``, the console's
journeys card) are that customer's own: two customers side by side, and two customers merged by mistake and
separated again by an admin (``profile.unmerged``), each see only their runs and what was sent to them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.journeys.harness import JourneyHarness


@pytest.fixture
def journeys() -> Iterator[JourneyHarness]:
    with JourneyHarness.start() as harness:
        yield harness


def _view(journeys: JourneyHarness, profile_id: str) -> tuple[set[str], set[str]]:
    answer = journeys.rt.request("GET", f"/journeys/customers/{profile_id}", headers=journeys.headers())
    assert answer.status == 200, answer.body
    found = answer.json()
    return {run["journey_id"] for run in found["journeys"]}, {item["event_id"] for item in found["sent"]}


def _asked(journeys: JourneyHarness, profile_id: str) -> set[str]:
    answer = journeys.rt.request("GET", f"/journeys/customers/{profile_id}", headers=journeys.headers())
    return {item["details"]["message_id"] for item in answer.json()["sent"] if item["kind"] == "message"}


def test_two_customers_in_one_journey_each_see_only_their_own(journeys: JourneyHarness) -> None:
    # Given two customers asked the same survey on WhatsApp
    ayse = journeys.customer("ayse", whatsapp="905321110071", consent={"whatsapp": True})
    berk = journeys.customer("berk", whatsapp="905321110072", consent={"whatsapp": True})
    for person in (ayse, berk):
        journeys.track(person, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)
    [to_ayse] = journeys.messages(ayse)
    [to_berk] = journeys.messages(berk)

    # Then each one's view holds their own question and not the other's, and no address at all
    assert _asked(journeys, ayse.profile_id) == {to_ayse.message_id}
    assert _asked(journeys, berk.profile_id) == {to_berk.message_id}
    assert _view(journeys, ayse.profile_id)[1].isdisjoint(_view(journeys, berk.profile_id)[1])
    text = json.dumps(journeys.journeys_of(ayse))
    assert "905321110071" not in text
    assert "905321110072" not in text
    # And a customer's own token reads no one's (staff only)
    token = {"Authorization": "Bearer " + journeys.rt.token("customer", sub=ayse.user_id)}
    assert journeys.rt.request("GET", f"/journeys/customers/{ayse.profile_id}", headers=token).status == 403


def test_an_undone_merge_takes_the_restored_customers_journeys_and_messages_back(journeys: JourneyHarness) -> None:
    # Given Ayşe in the first-purchase journey and Berk, a different customer, waiting for his post-visit survey
    ayse = journeys.customer("ayse", whatsapp="905321110081", consent={"whatsapp": True})
    berk = journeys.customer("berk", whatsapp="905321110082", consent={"whatsapp": True})
    journeys.lifecycle(ayse, "experimentation")
    journeys.track(berk, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    berk_before = journeys.journeys_of(berk)["sent"]
    # And a clerk's typo merged Berk into Ayşe, while the journey asked the question (now under Ayşe)
    merge_id = journeys.merge(ayse, berk)
    assert _view(journeys, ayse.profile_id)[0] == {"first_purchase_follow_up", "post_visit_nps"}
    journeys.advance(days=1)
    asked = journeys.run(ayse, "post_visit_nps")
    assert asked is not None
    assert asked["step"] == "ask_nps"
    _, sent_while_one = _view(journeys, ayse.profile_id)
    assert sent_while_one  # the question, sent while they were one customer

    # When an admin undoes the merge (delivered twice: at least once)
    journeys.unmerge(ayse, berk, merge_id, times=2)

    # Then Ayşe's view holds only her own journey and nothing that was sent for Berk's
    assert _view(journeys, ayse.profile_id) == ({"first_purchase_follow_up"}, set())
    # And Berk's holds his survey, at the step it reached, and the question it sent him, once
    runs, sent = _view(journeys, berk.profile_id)
    assert runs == {"post_visit_nps"}
    assert sent == sent_while_one | {item["event_id"] for item in berk_before}
    back = journeys.run(berk, "post_visit_nps")
    assert back is not None
    assert (back["step"], back["status"], back["survey_open"]) == ("ask_nps", "active", True)
    # (announced, and how it ended moved back with it: this runtime has no WhatsApp API, so outbound failed it)
    ended = [(item["announced"], item["status"], item["delivery_error"]) for item in journeys.journeys_of(berk)["sent"]]
    assert ended == [(True, "failed", "Config")] * len(sent)

    # And his answer lands on his own run, not on Ayşe's
    journeys.reply(berk, "9")
    answered = journeys.run(berk, "post_visit_nps")
    assert answered is not None
    assert [answer["score"] for answer in answered["answers"]] == [9]
    assert journeys.run(ayse, "post_visit_nps") is None
