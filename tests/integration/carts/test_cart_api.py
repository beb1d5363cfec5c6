"""The cart API through the local runtime: development JWTs, the anonymous-id path, versions and If-Match."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
COAT = {"product_id": "P-COAT", "variant": "M", "quantity": 1, "unit_price": "1299.90", "currency": "TRY"}


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as runtime:
        yield runtime


def _bearer(rt: LocalRuntime, sub: str, role: str = "customer") -> dict[str, str]:
    return {"Authorization": f"Bearer {rt.token(role, sub=sub)}"}


def _call(rt: LocalRuntime, method: str, path: str, headers: dict[str, str], body: Any = None) -> HttpResponse:
    return rt.request(method, path, headers=headers, body=body)


def test_a_customer_adds_changes_and_removes_lines_with_versions(rt: LocalRuntime) -> None:
    me = _bearer(rt, "cus-api-1")
    # Given an empty cart at version 0
    empty = _call(rt, "GET", "/carts/me", me)
    assert empty.status == 200
    assert (empty.json()["version"], empty.json()["lines"], empty.json()["total"]) == (0, [], "0.00")
    # When a coat is added twice and a scarf once
    first = _call(rt, "POST", "/carts/me/lines", me, COAT)
    second = _call(rt, "POST", "/carts/me/lines", {**me, "If-Match": first.headers["etag"]}, {**COAT, "quantity": 2})
    scarf = {"product_id": "P-SCARF", "quantity": 1, "unit_price": "249.5", "currency": "TRY"}
    third = _call(rt, "POST", "/carts/me/lines", {**me, "If-Match": str(second.json()["version"])}, scarf)
    # Then the same product and variant add up, totals are computed on the server, each write moves the version
    assert [answer.status for answer in (first, second, third)] == [200, 200, 200]
    cart = third.json()
    assert [answer.json()["version"] for answer in (first, second, third)] == [1, 2, 3]
    assert [(line["product_id"], line["quantity"], line["line_total"]) for line in cart["lines"]] == [
        ("P-COAT", 3, "3899.70"),
        ("P-SCARF", 1, "249.50"),
    ]
    assert cart["total"] == "4149.20"
    assert cart["currency"] == "TRY"
    assert third.headers["etag"] == f'"{cart["cart_id"]}.3"'
    # When the coat's quantity changes and the scarf is removed
    coat_line = cart["lines"][0]["line_id"]
    changed = _call(rt, "PATCH", f"/carts/me/lines/{coat_line}", me, {"quantity": 1})
    scarf_line = cart["lines"][1]["line_id"]
    removed = _call(rt, "DELETE", f"/carts/me/lines/{scarf_line}", me)
    # Then
    assert changed.json()["lines"][0]["quantity"] == 1
    assert removed.json()["lines"] == [changed.json()["lines"][0]]
    assert removed.json()["version"] == 5
    # And a quantity of 0 removes a line; an unknown line is 404
    gone = _call(rt, "PATCH", f"/carts/me/lines/{coat_line}", me, {"quantity": 0})
    assert gone.json()["lines"] == []
    assert _call(rt, "DELETE", f"/carts/me/lines/{coat_line}", me).status == 404


def test_a_stale_if_match_gets_412_and_changes_nothing(rt: LocalRuntime) -> None:
    me = _bearer(rt, "cus-api-2")
    first = _call(rt, "POST", "/carts/me/lines", me, COAT)
    stale = first.headers["etag"]
    _call(rt, "POST", "/carts/me/lines", {**me, "If-Match": stale}, {**COAT, "product_id": "P-HAT"})
    # When a write names the version before the last change
    refused = _call(rt, "POST", "/carts/me/lines", {**me, "If-Match": stale}, {**COAT, "product_id": "P-BAG"})
    # Then 412, with the current cart and its ETag, and nothing changed
    assert refused.status == 412
    assert refused.json()["version"] == 2
    assert refused.headers["etag"].endswith('.2"')
    now = _call(rt, "GET", "/carts/me", me).json()
    assert [line["product_id"] for line in now["lines"]] == ["P-COAT", "P-HAT"]
    assert now["version"] == 2
    # And the same for PATCH and DELETE, and for a bare version
    line_id = now["lines"][0]["line_id"]
    assert _call(rt, "PATCH", f"/carts/me/lines/{line_id}", {**me, "If-Match": "1"}, {"quantity": 5}).status == 412
    assert _call(rt, "DELETE", f"/carts/me/lines/{line_id}", {**me, "If-Match": '"1"'}).status == 412
    assert _call(rt, "GET", "/carts/me", me).json() == now
    # And an If-Match naming another cart is stale too; a malformed one is 400
    other = _call(rt, "POST", "/carts/me/lines", _bearer(rt, "cus-api-3"), COAT).headers["etag"]
    assert _call(rt, "DELETE", f"/carts/me/lines/{line_id}", {**me, "If-Match": other}).status == 412
    malformed = _call(rt, "DELETE", f"/carts/me/lines/{line_id}", {**me, "If-Match": "yesterday"})
    assert malformed.status == 400
    assert malformed.json()["errors"][0]["field"] == "header.if-match"


def test_bad_input_is_refused_naming_the_field(rt: LocalRuntime) -> None:
    me = _bearer(rt, "cus-api-4")
    bad_price = _call(rt, "POST", "/carts/me/lines", me, {**COAT, "unit_price": "-1"})
    assert bad_price.status == 400
    assert [error["field"] for error in bad_price.json()["errors"]] == ["unit_price"]
    assert _call(rt, "POST", "/carts/me/lines", me, {**COAT, "currency": "lira"}).status == 400
    # A line in another currency than the cart's is a conflict
    _call(rt, "POST", "/carts/me/lines", me, COAT)
    euro = _call(rt, "POST", "/carts/me/lines", me, {**COAT, "product_id": "P-EU", "currency": "EUR"})
    assert euro.status == 409
    assert euro.json()["code"] == "currency_mismatch"


@pytest.mark.parametrize(
    "guessable",
    [
        "short",
        "00000000",  # any 8 printable characters were once a credential
        "0d6f2c1e-anon-device-77",
        "00000000-0000-0000-0000-000000000000",
        "0d6f2c1e-8a2b-1c3d-9e4f-5a6b7c8d9e0f",  # a UUIDv1: time and MAC, not random
        "0d6f2c1e-8a2b-4c3d-7e4f-5a6b7c8d9e0f",  # not the RFC 4122 variant
    ],
)
def test_a_device_credential_must_be_an_unguessable_uuid4(rt: LocalRuntime, guessable: str) -> None:
    refused = _call(rt, "GET", "/carts/anonymous", {"X-Anonymous-Id": guessable})
    assert refused.status == 400
    assert refused.json()["errors"][0]["field"] == "header.x-anonymous-id"


def test_the_anonymous_path_needs_the_device_id_and_shows_no_profile(rt: LocalRuntime) -> None:
    assert _call(rt, "GET", "/carts/anonymous", {}).status == 401
    device = {"X-Anonymous-Id": "0d6f2c1e-8a2b-4c3d-9e4f-5a6b7c8d9e0f"}
    added = _call(rt, "POST", "/carts/anonymous/lines", device, COAT)
    assert added.status == 200
    assert added.json()["profile_id"] is None
    again = _call(rt, "GET", "/carts/anonymous", device)
    assert again.json()["lines"] == added.json()["lines"]
    # Another device does not see it
    other = {"X-Anonymous-Id": "7F1E2D3C-4B5A-4968-A7B6-C5D4E3F2A1B0"}  # upper case, as iOS writes a UUID
    assert _call(rt, "GET", "/carts/anonymous", other).json()["lines"] == []


def test_tokens_reach_only_what_their_role_allows(rt: LocalRuntime) -> None:
    # No token: the gateway refuses the JWT routes
    assert _call(rt, "GET", "/carts/me", {}).status == 401
    _call(rt, "POST", "/carts/me/lines", _bearer(rt, "cus-api-5"), COAT)
    # A customer reads their own cart by id, not another's
    assert _call(rt, "GET", "/carts/customers/cus-api-5", _bearer(rt, "cus-api-5")).status == 200
    assert _call(rt, "GET", "/carts/customers/cus-api-5", _bearer(rt, "cus-api-6")).status == 403
    # An agent reads any customer's cart; a customer may not read by profile
    by_agent = _call(rt, "GET", "/carts/customers/cus-api-5", _bearer(rt, "agent-1", "agent"))
    assert by_agent.status == 200
    assert by_agent.json()["lines"][0]["product_id"] == "P-COAT"
    assert _call(rt, "GET", "/carts/profiles/prof-x", _bearer(rt, "cus-api-5")).status == 403
    assert _call(rt, "GET", "/carts/profiles/prof-unknown", _bearer(rt, "agent-1", "agent")).status == 404


def test_writes_announce_cart_updated(rt: LocalRuntime) -> None:
    _call(rt, "POST", "/carts/me/lines", _bearer(rt, "cus-api-7"), COAT)
    rt.drain()
    updated = [event for event in rt.bus_log() if event.get("detail-type") == "cart.updated"]
    mine = [event for event in updated if event["detail"]["lines"] and event["detail"]["value"] == "1299.90"]
    assert mine
    assert mine[-1]["source"] == "omnichannel.carts"
    assert mine[-1]["detail"]["lines"][0]["unit_price"] == "1299.90"
