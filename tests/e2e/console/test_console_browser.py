"""The console driven in headless Chromium against the local runtime: sign in, search a customer, open the
Customer 360, create a handoff and redeem its code, read the KPI charts and check every figure against the API
for the same period. Screenshots go to build/screenshots/."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.support.console_browser import Site, attr, shot, sign_in, wait

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def _customer(site: Site, lang: str) -> dict[str, Any]:
    """A seeded customer in ``lang`` who has orders (so the 360 has a timeline worth looking at)."""
    for person in site.dataset.customers:
        if person["lang"] == lang:
            profile = site.api("/profiles", email=person["email"])
            value = site.api(f"/kpis/profiles/{profile['profile_id']}")
            if value.get("known") and value.get("frequency"):
                return {**person, "profile_id": profile["profile_id"]}
    raise AssertionError(f"the dataset has no {lang} customer with orders")


def _requests(driver: WebDriver) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = driver.execute_script("return window.consoleRequests.slice()")
    return found


def _open_customer(driver: WebDriver, kind: str, value: str) -> None:
    driver.get(driver.current_url.split("#")[0] + "#/search")
    query = wait(driver).until(lambda d: d.find_element(By.ID, "search-query"))
    Select(driver.find_element(By.ID, "search-kind")).select_by_value(kind)
    query.clear()
    query.send_keys(value, Keys.ENTER)  # the keyboard submits the form
    wait(driver).until(lambda d: d.find_elements(By.ID, "customer-name"))


def test_agent_finds_a_customer_sees_the_360_hands_off_and_the_clerk_redeems(site: Site, browser: WebDriver) -> None:
    # Given an agent signed in with the local dev sign-in
    sign_in(browser, site, dev=True)
    shot(browser, "01-search")
    person = _customer(site, "tr")

    # When they search the customer by e-mail (typed in capitals: the API normalises it)
    _open_customer(browser, "email", person["email"].upper())

    # Then the Customer 360 shows the customer with Turkish text marked as Turkish
    name = browser.find_element(By.ID, "customer-name")
    assert name.text == person["name"]
    assert name.get_attribute("lang") == "tr"
    assert browser.find_element(By.ID, "customer-id").text == person["profile_id"]
    # And the timeline holds exactly the API's newest page, each event with its channel badge
    context = site.api(f"/handoff/customers/{person['profile_id']}/context")
    items = browser.find_elements(By.CSS_SELECTOR, "#timeline li.event")
    assert [item.get_attribute("data-event-id") for item in items] == [
        event["event_id"] for event in context["timeline"]["events"]
    ]
    assert {item.get_attribute("data-channel") for item in items} == {
        event["channel"] for event in context["timeline"]["events"]
    }
    assert all(item.find_element(By.CSS_SELECTOR, ".badge").text for item in items)
    # And the channel filter keeps only that channel's events in view
    channel = attr(items[-1], "data-channel")
    Select(browser.find_element(By.ID, "timeline-channel")).select_by_value(channel)
    visible = [attr(item, "data-channel") for item in items if item.is_displayed()]
    assert visible == [event["channel"] for event in context["timeline"]["events"] if event["channel"] == channel]
    Select(browser.find_element(By.ID, "timeline-channel")).select_by_value("")
    assert all(item.is_displayed() for item in items)
    # And the identities include the phone, the lifecycle stage is the KPI API's
    assert person["phone"] in browser.find_element(By.ID, "identities-card").text
    value = site.api(f"/kpis/profiles/{person['profile_id']}")
    assert browser.find_element(By.CSS_SELECTOR, "#value-card .stage").text == value["stage"]
    # And the consent card names the channels a message could go out on, as the API does
    assert context["reachable_channels"]  # the demo's customers consented to e-mail at least
    assert attr(browser.find_element(By.ID, "reachable"), "data-reachable").split() == context["reachable_channels"]
    # And the 360 cost one bounded page of requests: context, merges, customer value, journeys
    assert sorted(
        entry["path"].split("?")[0]
        for entry in _requests(browser)
        if "/customers/" in entry["path"] or "/merges" in entry["path"] or "/kpis/profiles/" in entry["path"]
    ) == sorted(
        [
            f"/handoff/customers/{person['profile_id']}/context",
            f"/profiles/{person['profile_id']}/merges",
            f"/kpis/profiles/{person['profile_id']}",
            f"/journeys/customers/{person['profile_id']}",
        ]
    )
    # And the journeys card lists the customer's runs as the journeys API does
    runs = site.api(f"/journeys/customers/{person['profile_id']}")["journeys"]
    shown = browser.find_elements(By.CSS_SELECTOR, "#journeys-card #journey-runs li")
    assert [attr(item, "data-journey-id") for item in shown] == [run["journey_id"] for run in runs]
    shot(browser, "02-customer-360")

    # When the agent hands the customer off from WhatsApp to the store
    Select(browser.find_element(By.ID, "handoff-from")).select_by_value("whatsapp")
    Select(browser.find_element(By.ID, "handoff-to")).select_by_value("web")
    note = browser.find_element(By.ID, "handoff-note")
    note.send_keys("Kaban 38 beden ayırtıldı; 顾客想在店里取货")
    browser.find_element(By.ID, "handoff-create").click()
    code_element = wait(browser).until(lambda d: d.find_element(By.ID, "ticket-code"))

    # Then the console shows the code and a QR of the deep link, and the API knows the open ticket
    code = code_element.text
    assert CODE.match(code), code
    ticket = site.api(f"/handoff/tickets/{code}")
    assert ticket["state"] == "open"
    assert ticket["profile_id"] == person["profile_id"]
    qr = browser.find_element(By.CSS_SELECTOR, "#ticket svg.qr")
    assert ticket["deep_link"] in attr(qr, "aria-label")
    assert int(attr(qr, "data-modules")) >= 21  # a real QR symbol (version 1 is 21 x 21)
    assert browser.find_element(By.ID, "ticket-link").get_attribute("href") == ticket["deep_link"]
    browser.execute_script("document.getElementById('ticket').scrollIntoView()")
    shot(browser, "03-handoff-created")

    # When the clerk redeems it, typing it in lower case without the dash
    browser.find_element(By.CSS_SELECTOR, "nav a[data-section='redeem']").click()
    field = wait(browser).until(lambda d: d.find_element(By.ID, "redeem-code"))
    field.send_keys(code.replace("-", "").lower())
    Select(browser.find_element(By.ID, "redeem-channel")).select_by_value("store")
    browser.find_element(By.ID, "redeem-store").send_keys("istanbul-kadikoy")
    browser.find_element(By.ID, "redeem-submit").click()
    redeemed = wait(browser).until(lambda d: d.find_element(By.ID, "redeemed"))

    # Then the clerk sees the customer, and the ticket is used up
    assert redeemed.get_attribute("data-profile-id") == person["profile_id"]
    assert person["name"] in redeemed.text
    assert "Kaban 38 beden" in redeemed.text
    assert site.api(f"/handoff/tickets/{code}")["state"] == "redeemed"
    shot(browser, "04-handoff-redeemed")

    # And the customer's 360 (one click away) shows that last handoff as redeemed
    browser.find_element(By.ID, "redeemed-open").click()
    last = wait(browser).until(lambda d: d.find_element(By.ID, "last-handoff"))
    assert attr(last, "data-state") == "redeemed"
    assert code in last.text

    # And a second redemption of the code is refused as used
    browser.get(f"{site.url}/console#/redeem/{code}")
    wait(browser).until(lambda d: attr(d.find_element(By.ID, "redeem-code"), "value") == code)
    browser.find_element(By.ID, "redeem-submit").click()
    wait(browser).until(lambda d: "expired or was already used" in d.find_element(By.ID, "redeem-status").text)
    assert browser.find_elements(By.ID, "redeemed") == []


def test_chinese_customer_by_phone_renders_in_chinese(site: Site, browser: WebDriver) -> None:
    # Given an agent signed in with a pasted token
    sign_in(browser, site)
    person = _customer(site, "zh")

    # When they search by the phone number written nationally with spaces
    national = person["phone"]
    _open_customer(browser, "phone", f"{national[:3]} {national[3:6]} {national[6:10]} {national[10:]}")

    # Then the name is marked Chinese (so the browser picks CJK glyphs; the screenshot shows them) and laid out
    name = browser.find_element(By.ID, "customer-name")
    assert name.text == person["name"]
    assert name.get_attribute("lang") == "zh"
    assert name.size["width"] > 20
    if person is site.dataset.customers[1]:  # the one who wrote on WhatsApp
        assert "你好" in browser.find_element(By.ID, "conversations-card").text
    shot(browser, "05-customer-360-chinese")
    # And on a tablet in portrait the 360 stacks into one column without horizontal scrolling
    browser.set_window_size(820, 1180)
    wait(browser).until(lambda d: d.execute_script("return window.innerWidth") <= 820)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    shot(browser, "06-customer-360-tablet")


def _chart(browser: WebDriver, name: str) -> Any:
    return json.loads(attr(browser.find_element(By.CSS_SELECTOR, f"figure[data-chart='{name}']"), "data-values"))


def _same(console: Any, api: Any) -> bool:
    if console is None or api is None:
        return console is None and api is None
    return Decimal(str(console)) == Decimal(str(api))


def _check_dashboard(browser: WebDriver, site: Site, channel: str | None) -> None:
    start, end = attr(browser.find_element(By.ID, "main"), "data-period").split("/")
    query = {"start": start, "end": end, **({"channel": channel} if channel else {})}
    by_channel = site.api("/kpis", granularity="total", **query)
    granularity = browser.find_element(By.ID, "main").get_attribute("data-granularity")
    over_time = site.api("/kpis", granularity=granularity, **query)
    cohorts = site.api("/kpis/cohorts", from_month=start[:7], to_month=end[:7])
    rows = {row["channel"]: row for row in by_channel["rows"]}
    assert rows, "the seeded dataset has KPI rows in the period"
    # The headline tiles are the API's totals
    for key in ("aov_gross", "gross", "orders", "conversion_rate", "cac", "nps", "csat", "recovered"):
        shown = browser.find_element(By.CSS_SELECTOR, f".tile[data-kpi='{key}']").get_attribute("data-value")
        assert _same(shown or None, by_channel["totals"][key]), key
    # Each bar chart holds the API's figure per channel
    for chart, key in (
        ("aov", "aov_gross"),
        ("conversion", "conversion_rate"),
        ("cac", "cac"),
        ("cpa", "cost_per_acquisition"),
        ("recovered", "recovered"),
    ):
        values = _chart(browser, chart)
        expected = {name: row[key] for name, row in rows.items() if row[key] is not None}
        assert set(values) == set(expected), chart
        assert all(_same(values[name], expected[name]) for name in expected), chart
    # A channel without spend (the seeded store has none) shows "no spend" as its CAC, never a cost of 0.00
    unspent = [
        name
        for name, row in rows.items()
        if row["cac"] is not None
        and Decimal(row["spend"]) == 0
        and not any(Decimal(part["spend"]) for part in row["unconverted"].values())
    ]
    cac_cells = [
        cell.get_attribute("textContent")
        for cell in browser.find_elements(By.CSS_SELECTOR, "table[data-table='cac'] tbody td")
    ]
    assert cac_cells.count("no spend") == len(unspent), cac_cells
    assert channel is not None or unspent, "the seeded store channel has customers and no spend"
    # NPS and CSAT over time: the API's figure for each day
    satisfaction = _chart(browser, "satisfaction")
    assert any(row["nps"] is not None for row in over_time["periods"]), "the seeded dataset has surveys in the period"
    for series in ("nps", "csat"):
        expected = {row["period"]: row[series] for row in over_time["periods"]}
        assert set(satisfaction[series]) == set(expected)
        assert all(_same(satisfaction[series][day], expected[day]) for day in expected)
    # The cohort heatmap: the API's rate for every cohort and month offset
    heat = _chart(browser, "cohorts")
    assert {row["cohort"] for row in cohorts["cohorts"]} == set(heat)
    for row in cohorts["cohorts"]:
        for month in row["months"]:
            assert _same(heat[row["cohort"]][str(month["offset"])], month["rate"])
    # The funnel arranges the API's counters
    funnel = _chart(browser, "funnel")
    totals = by_channel["totals"]
    assert funnel["sessions"] == int(totals["sessions"])
    assert funnel["prospects"] == int(totals["leads"]) + int(totals["signups"])
    assert funnel["new_customers"] == int(totals["new_customers"])


def test_kpi_dashboard_shows_the_apis_figures_for_the_period_and_channels(site: Site, browser: WebDriver) -> None:
    # Given an agent on the KPI dashboard (default period: the last 30 days)
    sign_in(browser, site)
    browser.find_element(By.CSS_SELECTOR, "nav a[data-section='kpis']").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
    shot(browser, "07-kpis-30-days")

    # Then the period is the API's default, the last 30 business days in the KPI time zone (not the browser's
    # UTC date, a day behind Istanbul's from 21:00 UTC)
    default = site.api("/kpis", granularity="total")
    assert attr(browser.find_element(By.ID, "main"), "data-period") == f"{default['start']}/{default['end']}"
    assert browser.find_element(By.ID, "kpi-end").get_attribute("value") == default["end"]
    # And every figure is the API's for the same period, recovered revenue included (the seeded cart left
    # yesterday, swept as abandoned, and bought today)
    assert site.dataset.recovered >= 1
    assert Decimal(default["totals"]["recovered"]) > 0
    _check_dashboard(browser, site, None)

    # When they widen the period to 120 days and keep only web and the app
    start = browser.find_element(By.ID, "kpi-start")
    browser.execute_script(
        "arguments[0].value = new Date(Date.now() - 119 * 86400000).toISOString().slice(0, 10)", start
    )
    for channel in ("web", "app"):
        browser.find_element(By.CSS_SELECTOR, f"input[name='channel'][value='{channel}']").click()
    browser.find_element(By.ID, "kpi-apply").click()
    wait(browser).until(
        lambda d: (
            d.find_element(By.ID, "main").get_attribute("data-loaded") == "true"
            and "web, app" in d.find_element(By.ID, "kpi-status").text
        )
    )
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "08-kpis-120-days-web-app")

    # Then the charts show only those channels, each figure the API's for that period and those channels
    assert set(_chart(browser, "aov")) <= {"web", "app"}
    _check_dashboard(browser, site, "web,app")
    browser.find_element(By.CSS_SELECTOR, "figure[data-chart='cohorts']").location_once_scrolled_into_view  # noqa: B018
    shot(browser, "09-kpis-cohorts-funnel")


def test_kpi_dashboard_compares_with_the_previous_period_counts_stages_and_exports_csv(
    site: Site, browser: WebDriver
) -> None:
    # Given an agent on the KPI dashboard (the last 30 days)
    sign_in(browser, site)
    browser.find_element(By.CSS_SELECTOR, "nav a[data-section='kpis']").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
    start, end = attr(browser.find_element(By.ID, "main"), "data-period").split("/")
    compared = site.api("/kpis", start=start, end=end, granularity="total", compare="previous_period")

    # Then each headline tile carries the API's change against the previous 30 days, its arrow and colour
    deltas = compared["comparison"]["deltas"]
    for key in ("aov_gross", "gross", "orders", "conversion_rate", "nps", "recovered"):
        tile = browser.find_element(By.CSS_SELECTOR, f".tile[data-kpi='{key}']")
        delta = tile.find_element(By.CSS_SELECTOR, ".delta")
        assert _same(attr(delta, "data-change"), deltas[key]["change"]), key
        assert _same(attr(delta, "data-previous"), deltas[key]["previous"]), key
        change = Decimal(str(deltas[key]["change"]))
        assert attr(delta, "data-direction") == ("up" if change > 0 else "down" if change < 0 else "flat")
        assert delta.text[0] in "▲▼■"
    assert any(Decimal(str(deltas[key]["change"])) != 0 for key in ("gross", "orders"))  # the demo grows
    shot(browser, "10-kpis-comparison")

    # And the stage census is the API's: customers per lifecycle stage now, with the period's movement
    lifecycle = site.api("/kpis/lifecycle", start=start, end=end)
    census = _chart(browser, "census")
    assert set(census) == set(lifecycle["census"])
    assert all(_same(census[stage], lifecycle["census"][stage]) for stage in census)
    assert sum(Decimal(str(count)) for count in lifecycle["census"].values()) > 0
    browser.find_element(By.CSS_SELECTOR, "figure[data-chart='census']").location_once_scrolled_into_view  # noqa: B018
    shot(browser, "11-kpis-stage-census")

    # When they export the view as CSV
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element(By.ID, "kpi-csv").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "main").get_attribute("data-exported") == "true")

    # Then the console asked for the same view as CSV, and got one line per period and channel of the API's
    exported = [entry for entry in _requests(browser) if entry.get("accept") == "text/csv"]
    assert len(exported) == 1
    assert exported[0]["status"] == 200
    granularity = attr(browser.find_element(By.ID, "main"), "data-granularity")
    rows = site.api("/kpis", start=start, end=end, granularity=granularity)["rows"]
    assert exported[0]["lines"] == 1 + len(rows)
    assert "Exported" in browser.find_element(By.ID, "kpi-status").text
    shot(browser, "12-kpis-csv-exported")
