"""The console's journeys in headless Chromium: the journeys view (each journey's funnel, what it sent by channel,
conversions of both groups and the lift with its interval) and the Customer 360's journeys card (the journeys the
customer is in, their step and since when, holdout or not, and what they were sent), every figure checked against
the journeys API, and no customer's card showing another's runs or messages; each message shows how it ended
(sent, or failed in the warning colour with its reason), and the funnel counts what was delivered beside what was
requested.

The site is the time-travelling harness (tests/journeys/harness.py) served over HTTP: customers visit a store, the
clock moves a day, the post-visit NPS journey asks them, one answers as a detractor, some buy. The screenshots the
docs show (docs/img/console-journey*.png) are taken here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.journeys.harness import Customer, JourneyHarness
from tests.support.console_browser import attr, shot, wait
from tests.support.fake_whatsapp import fake_whatsapp

DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"
JOURNEY = "post_visit_nps"


@dataclass
class JourneysSite:
    harness: JourneyHarness
    people: dict[str, Customer]

    @property
    def url(self) -> str:
        return self.harness.rt.base_url

    def api(self, path: str) -> Any:
        answer = self.harness.rt.request("GET", path, headers=self.harness.headers())
        assert answer.status == 200, answer.body
        return answer.json()


@pytest.fixture(scope="module")
def journeys_site() -> Iterator[JourneysSite]:
    # WhatsApp through a fake Cloud API (the questions to Ayşe and Mehmet are delivered); Emma's e-mail is refused
    # for good: it leaves from a sender SES has not verified (the development config verifies only its own
    # SesFromAddress), so SES answers MessageRejected, and her card says so.
    with (
        fake_whatsapp() as whatsapp,
        JourneyHarness.start(
            http_port=0, parameters={"WhatsAppApiBaseUrl": whatsapp.url, "SesFromAddress": "news@unverified.example"}
        ) as harness,
    ):
        people = {
            "ayse": harness.customer("ayse", whatsapp="905321119001", consent={"whatsapp": True}),
            "mehmet": harness.customer("mehmet", whatsapp="905321119002", consent={"whatsapp": True}),
            "emma": harness.customer("emma", email="emma.j2@example.co.uk", consent={"email": True}),
            "li": harness.customer("li", email="li.j2@example.cn"),  # no consent anywhere: nothing can be sent
            "zeynep": harness.customer(
                "zeynep", whatsapp="905321119005", consent={"whatsapp": True}, held_out_of=[JOURNEY]
            ),
            "can": harness.customer("can", whatsapp="905321119006", consent={"whatsapp": True}, held_out_of=[JOURNEY]),
        }
        # Everyone visits a store; a day later the treatment group is asked on their consented channel
        for person in people.values():
            harness.track(person, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
        harness.advance(days=1)
        # Ayşe answers 3 (a detractor: a call task for an agent), Mehmet 9
        harness.reply(people["ayse"], "3")
        harness.reply(people["mehmet"], "9")
        harness.advance(hours=2)
        # Ayşe, Mehmet and Emma buy (3 of the 4 treated), and so does Zeynep (1 of the 2 held out)
        for name in ("ayse", "mehmet", "emma", "zeynep"):
            harness.track(people[name], "Order Completed", properties={"order_id": f"O-j2-{name}", "total": "250.00"})
        harness.advance(hours=1)
        # Deniz visits a store now: she waits for tomorrow's question
        people["deniz"] = harness.customer("deniz", whatsapp="905321119007", consent={"whatsapp": True})
        harness.track(people["deniz"], "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
        harness.advance(minutes=5)
        yield JourneysSite(harness, people)


def _sign_in(driver: WebDriver, site: JourneysSite) -> None:
    driver.get(f"{site.url}/console")
    field = wait(driver).until(lambda d: d.find_element(By.ID, "token"))
    field.send_keys(site.harness.rt.token("agent", sub="e2e-journeys-agent"))
    driver.find_element(By.ID, "signin-submit").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "search-query"))


def _values(element: Any) -> Any:
    return json.loads(attr(element, "data-values"))


def _keep(driver: WebDriver, name: str, element: Any | None = None) -> None:
    """A screenshot in build/screenshots and, with ``UPDATE_DOCS_SCREENSHOTS=1``, for the docs (docs/img, small: the
    element, else the window): a test run leaves the checkout as it was."""
    shot(driver, name)
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") != "1":
        return
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    if element is not None:
        element.screenshot(str(DOCS_IMG / f"{name}.png"))
    else:
        driver.save_screenshot(str(DOCS_IMG / f"{name}.png"))


def test_the_journeys_view_shows_each_funnel_and_the_lift_as_the_api_computed_them(
    journeys_site: JourneysSite, browser: WebDriver
) -> None:
    # Given an agent signed in
    browser.set_window_size(1280, 900)
    _sign_in(browser, journeys_site)

    # When they open the journeys
    browser.find_element(By.CSS_SELECTOR, "nav a[data-section='journeys']").click()
    table = wait(browser).until(lambda d: d.find_element(By.ID, "journeys-table"))
    wait(browser).until(lambda d: d.find_element(By.ID, "main").get_attribute("data-loaded") == "true")

    # Then every journey in force is a row holding the API's figures: entered, held out, converted, lift
    listed = {journey["id"]: journey for journey in journeys_site.api("/journeys")["journeys"]}
    rows = {attr(row, "data-journey-id"): row for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert set(rows) == set(listed)
    for journey_id, row in rows.items():
        assert _values(row) == listed[journey_id]
    nps = listed[JOURNEY]
    assert (nps["entered"], nps["held_out"], nps["converted"], nps["converted_held_out"]) == (5, 2, 3, 1)
    assert "+10.00 pts" in rows[JOURNEY].text  # 3 of 5 (60 %, Deniz just entered) against 1 of 2 (50 %)
    assert (
        browser.find_element(By.CSS_SELECTOR, "nav a[data-section='journeys']").get_attribute("aria-current") == "page"
    )
    _keep(browser, "console-journeys", browser.find_element(By.ID, "main"))

    # When they open the post-visit NPS journey
    rows[JOURNEY].find_element(By.CSS_SELECTOR, "a").click()
    wait(browser).until(lambda d: d.find_elements(By.ID, "journey-name"))
    wait(browser).until(lambda d: d.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
    detail = journeys_site.api(f"/journeys/{JOURNEY}")
    figures = detail["funnel"]

    # Then the funnel is entered, each step reached, converted: the API's counters
    funnel = _values(browser.find_element(By.CSS_SELECTOR, "figure[data-chart='journey-funnel']"))
    assert funnel == {
        "entered": figures["entered"],
        **{f"step:{step['id']}": step["reached"] for step in figures["steps"]},
        "converted": figures["converted"],
    }
    assert (funnel["step:next_day"], funnel["step:ask_nps"]) == (5, 4)  # Deniz waits for tomorrow's question
    assert funnel["step:call_back"] == 1  # Ayşe's 3 opened the call task
    # And what was sent, by channel, is the API's: WhatsApp for Ayşe and Mehmet, e-mail for Emma
    sent = _values(browser.find_element(By.CSS_SELECTOR, "figure[data-chart='journey-sent']"))
    assert sent == figures["sent"] == {"email": 1, "whatsapp": 2}
    # And what was delivered is counted apart: both WhatsApp questions went out, Emma's e-mail failed
    delivered = browser.find_element(By.CSS_SELECTOR, "figure[data-chart='journey-delivered']")
    assert _values(delivered) == figures["delivery"]["sent"] == {"whatsapp": 2}
    assert figures["delivery"]["failed"] == {"email": 1}
    assert "1 failed, 0 cancelled" in delivered.text
    # And Li, who consented to nothing, is a skipped send
    outcomes = _values(browser.find_element(By.ID, "journey-outcomes"))
    assert outcomes["skipped:no_channel"] == figures["skipped"]["no_channel"] == 1
    # And the tiles hold the held out and the conversions of both groups
    for key in ("entered", "held_out", "converted", "converted_held_out", "tasks"):
        tile = browser.find_element(By.CSS_SELECTOR, f".tile[data-figure='{key}']")
        assert attr(tile, "data-value") == str(figures[key]), key
    # And the lift is the API's, with its counts and its interval in words
    lift = browser.find_element(By.ID, "lift")
    assert _values(lift) == figures["lift"]
    low, high = figures["lift"]["absolute_interval"]
    assert f"{low * 100:+.2f} pts to {high * 100:+.2f} pts" in lift.text
    assert "3 of 5 converted" in lift.find_element(By.CSS_SELECTOR, "[data-field='treatment']").text
    assert "1 of 2 converted" in lift.find_element(By.CSS_SELECTOR, "[data-field='holdout']").text
    # And the surveys: two answers, one low answer followed up
    assert "1 of 1" in browser.find_element(By.ID, "journey-surveys").text
    browser.set_window_size(1280, 1500)  # the whole page in the docs' screenshot
    _keep(browser, "console-journey-funnel", browser.find_element(By.ID, "main"))


def _card(browser: WebDriver, site: JourneysSite, person: Customer) -> Any:
    browser.get(f"{site.url}/console#/customers/{person.profile_id}")
    return wait(browser).until(lambda d: d.find_element(By.ID, "journeys-card"))


def test_the_360_shows_the_customers_journeys_and_what_they_were_sent_and_no_one_elses(
    journeys_site: JourneysSite, browser: WebDriver
) -> None:
    # Given an agent signed in
    browser.set_window_size(1280, 1000)
    _sign_in(browser, journeys_site)
    people = journeys_site.people
    everyones_events = {
        name: {item["event_id"] for item in journeys_site.api(f"/journeys/customers/{person.profile_id}")["sent"]}
        for name, person in people.items()
    }

    # When they open Ayşe's 360 (asked on WhatsApp, answered 3, a call task opened)
    card = _card(browser, journeys_site, people["ayse"])
    mine = journeys_site.api(f"/journeys/customers/{people['ayse'].profile_id}")

    # Then her card lists her runs as the API does: the journey, its status, its step
    runs = card.find_elements(By.CSS_SELECTOR, "#journey-runs li")
    assert [(attr(r, "data-journey-id"), attr(r, "data-status"), attr(r, "data-group")) for r in runs] == [
        (run["journey_id"], run["status"], run["group"]) for run in mine["journeys"]
    ]
    nps_run = next(run for run in runs if attr(run, "data-journey-id") == JOURNEY)
    assert "answered NPS 3" in nps_run.text
    # And what she was sent: the question on WhatsApp and the agent's call task, each with its status
    rows = card.find_elements(By.CSS_SELECTOR, "#journey-sent-log tbody tr")
    assert [attr(row, "data-event-id") for row in rows] == [item["event_id"] for item in mine["sent"]]
    assert [attr(row, "data-status") for row in rows] == [item["status"] for item in mine["sent"]]
    assert {item["kind"] for item in mine["sent"]} >= {"message", "agent_task"}
    whatsapp = [row for row in rows if row.find_elements(By.CSS_SELECTOR, ".badge[data-channel='whatsapp']")]
    assert whatsapp
    assert "post_visit_nps" in whatsapp[0].text
    # And the question shows it was delivered (outbound's message.sent); what is not a message stays requested
    [question] = [item for item in mine["sent"] if item["kind"] == "message"]
    assert (question["status"], question["delivered_channel"]) == ("sent", "whatsapp")
    asked = card.find_element(By.CSS_SELECTOR, f"#journey-sent-log tr[data-event-id='{question['event_id']}']")
    assert asked.find_element(By.CSS_SELECTOR, "[data-delivery]").text == "sent"
    assert {item["status"] for item in mine["sent"] if item["kind"] != "message"} == {"requested"}
    # And nothing of anyone else's, nor any address
    shown = {attr(row, "data-event-id") for row in rows}
    assert shown == everyones_events["ayse"]
    assert all(not (shown & events) for name, events in everyones_events.items() if name != "ayse")
    assert "905321119001" not in card.text
    card.location_once_scrolled_into_view  # noqa: B018
    _keep(browser, "console-customer-360-journeys", card)

    # When they open Mehmet's and Emma's: the question each was sent (and Mehmet's answer, announced as Survey
    # Answered), on each one's own channel, nothing else
    for name, channel in (("mehmet", "whatsapp"), ("emma", "email")):
        card = _card(browser, journeys_site, people[name])
        rows = card.find_elements(By.CSS_SELECTOR, "#journey-sent-log tbody tr")
        assert {attr(row, "data-event-id") for row in rows} == everyones_events[name]
        badges = card.find_elements(By.CSS_SELECTOR, "#journey-sent-log .badge")
        assert {attr(badge, "data-channel") for badge in badges} == {channel}

    # When they open Emma's: her question failed (her address was never reached), in the warning colour, with why
    card = _card(browser, journeys_site, people["emma"])
    hers = journeys_site.api(f"/journeys/customers/{people['emma'].profile_id}")["sent"]
    [question] = [item for item in hers if item["kind"] == "message"]
    assert (question["status"], question["delivery_error"]) == ("failed", "MessageRejected")
    row = card.find_element(By.CSS_SELECTOR, f"tr[data-event-id='{question['event_id']}']")
    badge = row.find_element(By.CSS_SELECTOR, "[data-delivery]")
    assert (attr(badge, "data-delivery"), badge.text) == ("failed", "failed")
    assert row.find_element(By.CSS_SELECTOR, "[data-delivery-error]").text == "MessageRejected"
    assert badge.value_of_css_property("background-color") == "rgba(254, 243, 199, 1)"  # the notices' amber
    card.location_once_scrolled_into_view  # noqa: B018
    _keep(browser, "console-customer-360-journeys-failed", card)

    # When they open Zeynep's, held out of the survey: she is in the journey's holdout group and was sent nothing
    card = _card(browser, journeys_site, people["zeynep"])
    held = card.find_element(By.CSS_SELECTOR, f"#journey-runs li[data-journey-id='{JOURNEY}']")
    assert (attr(held, "data-group"), attr(held, "data-status")) == ("holdout", "held_out")
    assert "holdout group" in held.text
    assert card.find_elements(By.CSS_SELECTOR, "#journey-sent-log") == []
    assert "Nothing sent by a journey." in card.text

    # When they open Deniz's, who visited five minutes ago: she is at the journey's first step, since her visit
    card = _card(browser, journeys_site, people["deniz"])
    [run] = journeys_site.api(f"/journeys/customers/{people['deniz'].profile_id}")["journeys"]
    waiting = card.find_element(By.CSS_SELECTOR, f"#journey-runs li[data-journey-id='{JOURNEY}']")
    assert (
        (attr(waiting, "data-status"), attr(waiting, "data-step"))
        == ("active", "next_day")
        == (run["status"], run["step"])
    )
    assert run["step_since"] == run["entered_at"]
    assert "at step next_day since" in waiting.text
