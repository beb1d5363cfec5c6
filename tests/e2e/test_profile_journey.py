"""One customer across every channel, through the local runtime: capture -> bus -> profiles -> API.

The demo journey (``make dev``): an anonymous web visit, the app installed from the web banner (another device
id), login with e-mail and phone in the app, a WhatsApp message from that phone, a store purchase with the loyalty
card and the e-mail. One profile holds every identifier; its timeline shows every touchpoint in order. Then an
admin erases the customer: no table holds their identifiers or events any more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.demo import journey
from local_runtime.runtime import LocalRuntime
from tests.e2e.conftest import TEMPLATE

RUN = "j0urney"


@pytest.fixture(scope="module")
def played() -> Iterator[tuple[LocalRuntime, dict[str, str]]]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        steps, identifiers = journey(RUN, datetime.now(UTC))
        for step in steps:
            answer = rt.request(step.method, step.path, headers=step.headers, body=step.body)
            assert answer.status == step.expect, (step.title, answer.body)
        for _ in range(5):  # capture's stream -> bus -> resolver -> profile stream -> bus: let it all settle
            rt.drain(timeout=60)  # each returns once nothing is pending; 10 s ran out on a loaded 2-core machine
        yield rt, dict(identifiers)


def agent(rt: LocalRuntime) -> dict[str, str]:
    return {"Authorization": "Bearer " + rt.token("agent", sub="agent-7")}


def scan_all(rt: LocalRuntime, logical_id: str) -> list[dict[str, Any]]:
    client = rt.client("dynamodb")
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": rt.table_name(logical_id)}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_touchpoint_resolves_to_one_profile_whose_timeline_shows_them_in_order(
    played: tuple[LocalRuntime, dict[str, str]],
) -> None:
    rt, ids = played
    found = rt.request("GET", "/profiles", query={"email": ids["email"]}, headers=agent(rt))
    assert found.status == 200, found.body
    profile = found.json()
    assert profile["identifiers"]["anonymous_id"] == [ids["anonymous_id"]]
    assert profile["identifiers"]["device_id"] == [ids["device_id"]]
    assert profile["identifiers"]["phone"] == [ids["phone"]]
    assert profile["identifiers"]["whatsapp"] == [ids["whatsapp"]]
    assert profile["identifiers"]["loyalty_card"] == [ids["loyalty_card"]]
    assert profile["identifiers"]["user_id"] == [f"cust-{RUN}"]
    assert profile["first_touch"]["channel"] == "web"
    assert set(profile["channels"]) == {"web", "app", "whatsapp", "store"}
    # Every identifier leads to the same profile.
    for kind in ("phone", "loyalty_card", "whatsapp", "device_id"):
        other = rt.request("GET", "/profiles", query={"identifier": f"{kind}:{ids[kind]}"}, headers=agent(rt))
        assert other.json()["profile_id"] == profile["profile_id"]
    roots = [
        item for item in scan_all(rt, "ProfilesTable") if item["sk"]["S"] == "PROFILE" and "merged_into" not in item
    ]
    assert len(roots) == 1

    timeline = rt.request("GET", f"/profiles/{profile['profile_id']}/timeline", headers=agent(rt)).json()
    touchpoints = [(event["channel"], event.get("name") or event["type"]) for event in timeline["events"]]
    assert touchpoints[::-1] == [
        ("web", "Yün kaban"),
        ("app", "Application Installed"),
        ("app", "identify"),
        ("app", "Product Added"),
        ("whatsapp", "Message Received"),
        ("store", "Order Completed"),
    ]
    assert timeline["next_cursor"] is None

    # Paged two at a time, the same events in the same order, each once.
    paged: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = rt.request("GET", f"/profiles/{profile['profile_id']}/timeline", query=query, headers=agent(rt)).json()
        paged += [event["event_id"] for event in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == [event["event_id"] for event in timeline["events"]]


def test_a_customer_reaches_only_their_own_profile(played: tuple[LocalRuntime, dict[str, str]]) -> None:
    rt, ids = played
    profile_id = rt.request("GET", "/profiles", query={"email": ids["email"]}, headers=agent(rt)).json()["profile_id"]
    own = {"Authorization": "Bearer " + rt.token("customer", sub=f"cust-{RUN}")}
    stranger = {"Authorization": "Bearer " + rt.token("customer", sub="cust-someone-else")}
    assert rt.request("GET", "/profiles/me", headers=own).json()["profile_id"] == profile_id
    assert rt.request("GET", f"/profiles/{profile_id}", headers=own).status == 200
    assert rt.request("GET", f"/profiles/{profile_id}", headers=stranger).status == 404
    assert rt.request("GET", f"/profiles/{profile_id}/timeline", headers=stranger).status == 404
    assert rt.request("GET", "/profiles", query={"email": ids["email"]}, headers=own).status == 403
    assert rt.request("GET", f"/profiles/{profile_id}").status == 401
    refused = rt.request("DELETE", f"/profiles/{profile_id}", headers=agent(rt))
    assert refused.status == 403
    assert "admin" in refused.json()["message"]


def test_bad_lookups_name_the_field(played: tuple[LocalRuntime, dict[str, str]]) -> None:
    rt, _ = played
    both = rt.request("GET", "/profiles", query={"email": "a@b.co", "phone": "+905321112233"}, headers=agent(rt))
    assert both.status == 400
    assert {error["field"] for error in both.json()["errors"]} == {"query.email", "query.phone"}
    bad = rt.request("GET", "/profiles", query={"identifier": "shoe_size:42"}, headers=agent(rt))
    assert bad.status == 400
    assert bad.json()["errors"][0]["field"] == "query.identifier"
    cursor = rt.request("GET", "/profiles/x/timeline", query={"limit": "500"}, headers=agent(rt))
    assert cursor.status == 400
    assert cursor.json()["errors"][0]["field"] == "query.limit"


def test_erasure_leaves_no_identifier_or_event_of_the_customer_in_any_table(
    played: tuple[LocalRuntime, dict[str, str]],
) -> None:
    rt, ids = played
    admin = {"Authorization": "Bearer " + rt.token("admin", sub="dpo-1")}
    profile_id = rt.request("GET", "/profiles", query={"email": ids["email"]}, headers=agent(rt)).json()["profile_id"]
    erased = rt.request("DELETE", f"/profiles/{profile_id}", headers=admin)
    assert erased.status == 200, erased.body
    for _ in range(3):
        rt.drain()
    values = {*ids.values(), f"cust-{RUN}"}
    for table in ("ProfilesTable", "EventsTable"):
        text = json.dumps(scan_all(rt, table), ensure_ascii=False)
        leftovers = sorted(value for value in values if value in text)
        assert leftovers == [], f"{table} still holds {leftovers}"
    assert [event for event in rt.bus_log() if event["detail-type"] == "profile.erased"]
    assert rt.request("GET", f"/profiles/{profile_id}", headers=agent(rt)).status == 404
    assert rt.request("DELETE", f"/profiles/{profile_id}", headers=admin).status == 410
    assert rt.request("GET", "/profiles", query={"email": ids["email"]}, headers=agent(rt)).status == 404
