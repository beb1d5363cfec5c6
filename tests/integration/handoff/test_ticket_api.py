"""Handoff tickets and the implicit-handoff context through the local runtime: the routes of template.yaml,
development JWTs, the handoff function's clock moved by the test, bus events read off the bus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handoff.models.api import ContextOut, RedeemOut, TicketOut
from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime
from omnichannel.http_api import ErrorBody

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as runtime:
        yield runtime


@pytest.fixture
def clock(rt: LocalRuntime) -> Iterator[Clock]:
    clock = Clock()
    wiring = rt.function_module("HandoffApiFunction", "handoff.wiring")
    wiring.override(clock=clock)
    yield clock
    wiring.reset()


def seed_profile(rt: LocalRuntime, profile_id: str, **identifiers: str) -> None:
    """The profile as the profiles function stores it: profile item and one index item per identifier."""
    client = rt.client("dynamodb")
    table = rt.table_name("ProfilesTable")
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"PROFILE#{profile_id}"},
            "sk": {"S": "PROFILE"},
            "identifiers": {"M": {kind: {"L": [{"S": value}]} for kind, value in identifiers.items()}},
            "traits": {"S": json.dumps({"first_name": {"v": json.dumps("Ayşe")}})},
            "channels": {"L": [{"S": "whatsapp"}]},
        },
    )
    for kind, value in identifiers.items():
        client.put_item(
            TableName=table,
            Item={"pk": {"S": f"ID#{kind}#{value}"}, "sk": {"S": "ID"}, "profile_id": {"S": profile_id}},
        )


def as_agent(rt: LocalRuntime, sub: str = "agent-7", role: str = "agent") -> dict[str, str]:
    return {"Authorization": "Bearer " + rt.token(role, sub=sub)}


def create(rt: LocalRuntime, profile_id: str, to_channel: str = "store", **extra: Any) -> HttpResponse:
    body = {"profile_id": profile_id, "from_channel": "whatsapp", "to_channel": to_channel, "reason": "try it on"}
    return rt.request("POST", "/handoff/tickets", headers=as_agent(rt), body={**body, **extra})


def redeem(rt: LocalRuntime, code: str, sub: str = "clerk-1", **body: Any) -> HttpResponse:
    return rt.request(
        "POST", f"/handoff/tickets/{code}/redeem", headers=as_agent(rt, sub), body={"channel": "store", **body}
    )


def on_bus(rt: LocalRuntime, detail_type: str, ticket_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in rt.bus_log()
        if event.get("detail-type") == detail_type and event["detail"].get("ticket_id") == ticket_id
    ]


def test_a_store_ticket_is_issued_redeemed_once_and_announced(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-1", whatsapp="905321110001")
    # When an agent issues a WhatsApp -> store ticket
    created = create(rt, "prof-api-1", note="size 42", ttl_minutes=120)
    assert created.status == 201, created.body
    ticket = created.json()
    TicketOut.model_validate(ticket)  # the documented answer (extra fields forbidden)
    assert CODE.match(ticket["code"])
    assert (ticket["state"], ticket["deep_link"], ticket["note"]) == ("open", None, "size 42")
    assert ticket["expires_at"].startswith("2026-03-02T11:00:00")
    # Then it reads back, also as typed loosely, and handoff.created is on the bus
    typed = ticket["code"].lower().replace("-", " ")
    read = rt.request("GET", f"/handoff/tickets/{typed}", headers=as_agent(rt))
    assert (read.status, read.json()["ticket_id"]) == (200, ticket["ticket_id"])
    assert len(on_bus(rt, "handoff.created", ticket["ticket_id"])) == 1
    # When the clerk redeems it
    clock.now = T0 + timedelta(minutes=30)
    answer = redeem(rt, ticket["code"], store_id="kadikoy")
    # Then 200 with the redeemed ticket and the customer's context
    assert answer.status == 200, answer.body
    body = answer.json()
    RedeemOut.model_validate(body)
    assert body["ticket"]["state"] == "redeemed"
    assert (body["ticket"]["redeemed_by"], body["ticket"]["redeemed_store_id"]) == ("clerk-1", "kadikoy")
    assert body["context"]["profile"]["profile_id"] == "prof-api-1"
    assert body["context"]["last_handoff"]["code"] == ticket["code"]
    assert body["context"]["last_handoff"]["state"] == "redeemed"
    assert body["context"]["tickets"] == []
    # And a second redemption is 410 ticket_used; handoff.accepted went out once
    again = redeem(rt, ticket["code"], sub="clerk-2")
    assert (again.status, again.json()["code"]) == (410, "ticket_used")
    ErrorBody.model_validate(again.json())
    accepted = on_bus(rt, "handoff.accepted", ticket["ticket_id"])
    assert len(accepted) == 1
    assert accepted[0]["source"] == "omnichannel.handoff"
    assert (accepted[0]["detail"]["channel"], accepted[0]["detail"]["store_id"]) == ("store", "kadikoy")


def test_digital_channels_get_a_deep_link_and_open_tickets_show_in_the_context(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-2", instagram="17841400000000777")
    created = create(rt, "prof-api-2", to_channel="web_chat")
    assert created.status == 201, created.body
    ticket = created.json()
    assert ticket["to_channel"] == "chat"
    # no HANDOFF_LINK_BASE_URL nor PUBLIC_BASE_URL configured locally: the origin the request came to
    assert ticket["deep_link"] == "http://127.0.0.1:3000/h/" + ticket["code"].replace("-", "")
    context = rt.request("GET", "/handoff/customers/prof-api-2/context", headers=as_agent(rt)).json()
    assert [t["code"] for t in context["tickets"]] == [ticket["code"]]
    assert context["last_handoff"]["ticket_id"] == ticket["ticket_id"]


def test_an_expired_ticket_is_410_ticket_expired(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-3", whatsapp="905321110003")
    ticket = create(rt, "prof-api-3", ttl_minutes=15).json()
    clock.now = T0 + timedelta(minutes=15)
    answer = redeem(rt, ticket["code"], sub="clerk-3")
    assert (answer.status, answer.json()["code"]) == (410, "ticket_expired")
    assert rt.request("GET", f"/handoff/tickets/{ticket['code']}", headers=as_agent(rt)).json()["state"] == "expired"
    assert on_bus(rt, "handoff.accepted", ticket["ticket_id"]) == []


def test_guessing_codes_is_rate_limited_per_caller(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-4", whatsapp="905321110004")
    real = create(rt, "prof-api-4").json()
    clock.now = T0 + timedelta(seconds=10)
    # When a caller tries ten wrong codes
    misses = [redeem(rt, f"ZZZZ-{n:04d}", sub="guesser-1").status for n in range(10)]
    # Then each is 404, and the next attempt (even the right code) is 429 with Retry-After until the window ends
    assert misses == [404] * 10
    refused = redeem(rt, real["code"], sub="guesser-1")
    assert refused.status == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert refused.headers["retry-after"] == "290"
    assert rt.request("GET", f"/handoff/tickets/{real['code']}", headers=as_agent(rt, "guesser-1")).status == 429
    # And another caller is not held back; the guesser may try again in the next window
    assert redeem(rt, "ZZZZ-9999", sub="clerk-4").status == 404
    clock.now = T0 + timedelta(minutes=5)
    assert redeem(rt, real["code"], sub="guesser-1").status == 200


def test_bad_input_names_the_field(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-5", whatsapp="905321110005")
    bad_channel = create(rt, "prof-api-5", to_channel="pigeon")
    assert (bad_channel.status, bad_channel.json()["errors"][0]["field"]) == (400, "to_channel")
    too_long = create(rt, "prof-api-5", ttl_minutes=10081)
    assert (too_long.status, too_long.json()["errors"][0]["field"]) == (400, "ttl_minutes")
    unknown = create(rt, "prof-nobody")
    assert (unknown.status, unknown.json()["errors"][0]["field"]) == (404, "profile_id")
    no_channel = rt.request("POST", "/handoff/tickets/ABCD-EFGH/redeem", headers=as_agent(rt, "clerk-5"), body={})
    assert (no_channel.status, no_channel.json()["errors"][0]["field"]) == (400, "channel")


def test_only_agents_reach_tickets(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-6", whatsapp="905321110006")
    customer = {"Authorization": "Bearer " + rt.token("customer", sub="prof-api-6")}
    body = {"profile_id": "prof-api-6", "from_channel": "whatsapp", "to_channel": "store", "reason": "r"}
    assert rt.request("POST", "/handoff/tickets", headers=customer, body=body).status == 403
    assert rt.request("POST", "/handoff/tickets", body=body).status == 401
    assert (
        rt.request("POST", "/handoff/tickets/ABCD-EFGH/redeem", headers=customer, body={"channel": "store"}).status
        == 403
    )


def test_the_context_by_calling_number(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-7", phone="+905321110007", whatsapp="905321110007")
    agent = as_agent(rt)
    by_phone = rt.request("GET", "/handoff/context", query={"phone": "0532 111 00 07"}, headers=agent)
    assert by_phone.status == 200, by_phone.body
    assert by_phone.json()["profile"]["profile_id"] == "prof-api-7"
    assert by_phone.json()["matched"] == {"identifier": "phone", "conversation": None}
    ContextOut.model_validate(by_phone.json())
    by_whatsapp = rt.request("GET", "/handoff/context", query={"whatsapp": "905321110007"}, headers=agent)
    assert by_whatsapp.json()["profile"]["profile_id"] == "prof-api-7"
    nobody = rt.request("GET", "/handoff/context", query={"phone": "+905329999999"}, headers=agent)
    assert nobody.status == 404
    missing = rt.request("GET", "/handoff/context", headers=agent)
    assert (missing.status, missing.json()["errors"][0]["field"]) == (400, "query.phone")
    invalid = rt.request("GET", "/handoff/context", query={"phone": "not-a-number"}, headers=agent)
    assert (invalid.status, invalid.json()["errors"][0]["field"]) == (400, "query.phone")


def test_profile_erased_deletes_the_customers_tickets(rt: LocalRuntime, clock: Clock) -> None:
    seed_profile(rt, "prof-api-8", whatsapp="905321110008")
    seed_profile(rt, "prof-api-9", whatsapp="905321110009")
    mine = [create(rt, "prof-api-8").json(), create(rt, "prof-api-8", to_channel="phone").json()]
    theirs = create(rt, "prof-api-9").json()
    erased = {
        "event_id": "erase-prof-api-8",
        "occurred_at": "2026-03-02T09:05:00Z",
        "profile_id": "prof-api-8",
        "profile_ids": ["prof-api-8", "prof-api-8-merged"],
        "identifiers": {"whatsapp": ["905321110008"]},
    }
    # When profile.erased is delivered (twice: at least once)
    rt.put_event("profile.erased", erased, source="omnichannel.profiles")
    rt.put_event("profile.erased", erased, source="omnichannel.profiles")
    rt.drain()
    # Then the customer's tickets are gone and another customer's stay
    agent = as_agent(rt, "agent-erasure")
    assert [rt.request("GET", f"/handoff/tickets/{t['code']}", headers=agent).status for t in mine] == [404, 404]
    assert rt.request("GET", f"/handoff/tickets/{theirs['code']}", headers=agent).status == 200
