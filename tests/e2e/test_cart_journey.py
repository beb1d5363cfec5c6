"""The cart journey through the local runtime: real capture calls drive the carts, a sign-in on two devices brings
their carts together.

Two items added on a phone anonymously, one on a laptop anonymously, then a sign-in on both: the app's Segment
``identify`` (userId and anonymousId) and its ``POST /carts/me/merge`` with the customer's token and the device's
cart credential (its UUIDv4 anonymousId). Merge mode: one cart with three lines. Replace mode: the laptop's cart
(the most recently active) is the cart, the phone's two lines are kept as a saved cart.

Everything runs: capture -> bus -> profiles (which resolves the devices and the logins into one profile and
announces profile.created / updated / merged) -> bus -> carts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime
from omnichannel.profile_events import (
    PROFILES_SOURCE,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
WRITE_KEY_AUTH = {"Authorization": "Basic ZGV2LXdyaXRlLWtleTo="}  # dev-write-key
PHONE = "5f2c9a71-3b8e-4d2a-9c61-0e7f4a2b8d13"  # each device's analytics anonymousId: a UUIDv4
LAPTOP = "8d41e0b3-6a1f-4e7c-b2d9-3c5e8f0a1b74"
CUSTOMER = "cus_ayse_1001"


@pytest.fixture(params=["merge", "replace"])
def journey(request: pytest.FixtureRequest) -> Iterator[tuple[str, LocalRuntime]]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", parameters={"CartMergeMode": request.param}) as rt:
        yield request.param, rt


def track(rt: LocalRuntime, anonymous_id: str, event: str, properties: dict[str, Any], *, context: str) -> None:
    body = {
        "type": "track",
        "anonymousId": anonymous_id,
        "event": event,
        "properties": properties,
        "messageId": f"msg-{uuid.uuid4()}",
        "context": {"library": {"name": context, "version": "1.0.0"}},
    }
    status, _, answer = rt.request("POST", "/v1/track", headers=WRITE_KEY_AUTH, body=body)
    assert status == 200, answer


def identify(rt: LocalRuntime, user_id: str, anonymous_id: str) -> None:
    body = {"type": "identify", "userId": user_id, "anonymousId": anonymous_id, "messageId": f"msg-{uuid.uuid4()}"}
    status, _, answer = rt.request("POST", "/v1/identify", headers=WRITE_KEY_AUTH, body=body)
    assert status == 200, answer


def sign_in(rt: LocalRuntime, user_id: str, anonymous_id: str) -> HttpResponse:
    """What the app does when the customer signs in on a device: identify, then bring the device's cart along."""
    identify(rt, user_id, anonymous_id)
    settle(rt)
    token = rt.token("customer", sub=user_id)
    merged = rt.request(
        "POST", "/carts/me/merge", headers={"Authorization": f"Bearer {token}", "X-Anonymous-Id": anonymous_id}
    )
    assert merged.status == 200, merged.body
    settle(rt)
    return merged


def settle(rt: LocalRuntime) -> None:
    """Capture's stream -> bus -> profiles -> profiles' stream -> bus -> carts: let every hop deliver."""
    for _ in range(4):
        rt.drain()


def _product(product_id: str, name: str, price: str, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product_id, "name": name, "price": float(price), "quantity": quantity, "currency": "TRY"}


def _cart(rt: LocalRuntime, *, token: str | None = None, anonymous_id: str | None = None) -> HttpResponse:
    if token is not None:
        return rt.request("GET", "/carts/me", headers={"Authorization": f"Bearer {token}"})
    return rt.request("GET", "/carts/anonymous", headers={"X-Anonymous-Id": anonymous_id or ""})


def _lines(response: HttpResponse) -> dict[str, int]:
    return {line["product_id"]: line["quantity"] for line in response.json()["lines"]}


def test_two_devices_then_login_on_both(journey: tuple[str, LocalRuntime]) -> None:
    mode, rt = journey
    # Given two items added on a phone and one on a laptop, anonymously, through the tracking API
    track(rt, PHONE, "Product Added", _product("P-COAT", "Kaban", "1299.90"), context="analytics-ios")
    track(rt, PHONE, "Product Added", _product("P-SCARF", "Atkı", "249.50", 2), context="analytics-ios")
    rt.drain()
    track(rt, LAPTOP, "Product Added", _product("P-BOOTS", "Bot", "2199.00"), context="analytics.js")
    rt.drain()
    # Then each device sees its own cart
    phone_cart = _cart(rt, anonymous_id=PHONE)
    assert phone_cart.status == 200
    assert _lines(phone_cart) == {"P-COAT": 1, "P-SCARF": 2}
    assert phone_cart.json()["total"] == "1798.90"
    assert _lines(_cart(rt, anonymous_id=LAPTOP)) == {"P-BOOTS": 1}

    # When the customer signs in on the phone, then on the laptop
    sign_in(rt, CUSTOMER, PHONE)
    sign_in(rt, CUSTOMER, LAPTOP)

    # Then the customer's token sees one cart with both devices' lines
    token = rt.token("customer", sub=CUSTOMER)
    mine = _cart(rt, token=token)
    assert mine.status == 200
    agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-7")}
    profile = rt.request("GET", "/profiles", query={"identifier": f"user_id:{CUSTOMER}"}, headers=agent).json()
    assert mine.json()["profile_id"] == profile["profile_id"]
    # And a device's credential alone no longer opens anything: the customer's cart needs the customer's token
    for device in (PHONE, LAPTOP):
        alone = _cart(rt, anonymous_id=device)
        assert alone.status == 409
        assert alone.json()["code"] == "signed_in"
    assert mine.headers["etag"] == f'"{mine.json()["cart_id"]}.{mine.json()["version"]}"'
    saved = rt.request("GET", "/carts/me/saved", headers={"Authorization": f"Bearer {token}"}).json()["saved"]
    merged_events = [event for event in rt.bus_log() if event.get("detail-type") == "cart.merged"]
    if mode == "merge":
        # merge: one cart with the three lines
        assert _lines(mine) == {"P-COAT": 1, "P-SCARF": 2, "P-BOOTS": 1}
        assert mine.json()["total"] == "3997.90"
        assert saved == []
        assert {event["detail"]["kept_as_saved"] for event in merged_events} == {False}
    else:
        # replace: the most recently active cart (the laptop's) wins, the phone's is kept as a saved cart
        assert _lines(mine) == {"P-BOOTS": 1}
        assert mine.json()["total"] == "2199.00"
        assert [{line["product_id"]: line["quantity"] for line in cart["lines"]} for cart in saved] == [
            {"P-COAT": 1, "P-SCARF": 2}
        ]
        # (each device's cart came into the customer's in turn; the second replaced the first, which was saved)
        assert [event["detail"]["kept_as_saved"] for event in merged_events] == [False, False]
    assert len(merged_events) == 2
    assert {event["detail"]["mode"] for event in merged_events} == {mode}

    # And an item added afterwards on the phone (still sending its anonymousId) lands in the same cart
    track(rt, PHONE, "Product Added", _product("P-GLOVES", "Eldiven", "199.00"), context="analytics-ios")
    rt.drain()
    assert "P-GLOVES" in _lines(_cart(rt, token=token))


def test_a_sign_in_brings_the_device_cart_once_and_profile_merges_move_no_cart() -> None:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        # Given one anonymous profile per device (profiles makes them from the tracking calls)
        track(rt, PHONE, "Product Added", _product("P-COAT", "Kaban", "1299.90"), context="analytics-ios")
        track(rt, LAPTOP, "Product Added", _product("P-COAT", "Kaban", "1299.90", 2), context="analytics.js")
        settle(rt)
        # When the customer's identify on both devices merges their profiles (and the bus repeats profile.merged)
        identify(rt, CUSTOMER, PHONE)
        settle(rt)
        identify(rt, CUSTOMER, LAPTOP)
        settle(rt)
        [merged] = [event for event in rt.bus_log() if event["detail-type"] == "profile.merged"]
        rt.put_event("profile.merged", merged["detail"], source=PROFILES_SOURCE)
        settle(rt)
        # Then no cart moved: an identify is no proof of the device (anyone can send one)
        token = rt.token("customer", sub=CUSTOMER)
        assert _lines(_cart(rt, token=token)) == {}
        assert _lines(_cart(rt, anonymous_id=LAPTOP)) == {"P-COAT": 2}
        # When the customer signs in on both with each device's credential, the laptop's merge sent twice
        sign_in(rt, CUSTOMER, PHONE)
        sign_in(rt, CUSTOMER, LAPTOP)
        again = sign_in(rt, CUSTOMER, LAPTOP)
        # Then one cart: the same product adds up (1 + 2), counted once
        mine = _cart(rt, token=token)
        assert _lines(mine) == {"P-COAT": 3}
        assert _lines(again) == {"P-COAT": 3}
        # And an agent sees it by the merged profile's id, read-only; a customer token does not open that route
        agent = rt.token("agent", sub="agent-7")
        merged_id = merged["detail"]["merged_id"]
        by_profile = rt.request("GET", f"/carts/profiles/{merged_id}", headers={"Authorization": f"Bearer {agent}"})
        assert by_profile.status == 200
        assert by_profile.json()["cart_id"] == mine.json()["cart_id"]
        refused = rt.request("GET", f"/carts/profiles/{merged_id}", headers={"Authorization": f"Bearer {token}"})
        assert refused.status == 403
