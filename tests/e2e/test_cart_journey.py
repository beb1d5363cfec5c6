"""The cart journey through the local runtime: real capture calls drive the carts, a login on two devices brings
their carts together.

Two items added on a phone anonymously, one on a laptop anonymously, then a login on both (Segment ``identify``
with userId and anonymousId). Merge mode: one cart with three lines. Replace mode: the laptop's cart (the most
recently active) is the cart, the phone's two lines are kept as a saved cart.

The profiles function is not on this branch: ``inject_profile_events_until_profiles_is_merged`` puts on the bus
exactly what it will emit for these logins (models of ``omnichannel.profile_events``). Once profiles is merged,
delete that helper and its calls: the profiles function then emits the same events from the identify calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileMerged,
    ProfileUpdated,
    profile_event_id,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
WRITE_KEY_AUTH = {"Authorization": "Basic ZGV2LXdyaXRlLWtleTo="}  # dev-write-key
PHONE = "anon-phone-5f2c9a71"
LAPTOP = "anon-laptop-8d41e0b3"
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


def inject_profile_events_until_profiles_is_merged(rt: LocalRuntime, event: Any) -> None:
    """Stand-in for the profiles function (not on this branch): the profile event it emits for a login.
    Remove once profiles is merged: its own events then drive the carts."""
    rt.put_event(_detail_type(event), event.model_dump(mode="json"), source=PROFILES_SOURCE)


def _detail_type(event: Any) -> str:
    names: dict[type, str] = {
        ProfileCreated: "profile.created",
        ProfileUpdated: "profile.updated",
        ProfileMerged: "profile.merged",
    }
    return names[type(event)]


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
    now = datetime.now(UTC)
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

    # When the customer logs in on the phone, then on the laptop (identify with userId + anonymousId)
    identify(rt, CUSTOMER, PHONE)
    inject_profile_events_until_profiles_is_merged(
        rt,
        ProfileCreated(
            event_id=profile_event_id("journey", "created"),
            occurred_at=now,
            profile_id="prof-ayse",
            identifiers={"user_id": [CUSTOMER], "anonymous_id": [PHONE]},
        ),
    )
    rt.drain()
    identify(rt, CUSTOMER, LAPTOP)
    inject_profile_events_until_profiles_is_merged(
        rt,
        ProfileUpdated(
            event_id=profile_event_id("journey", "updated"),
            occurred_at=now,
            profile_id="prof-ayse",
            added_identifiers={"anonymous_id": [LAPTOP]},
        ),
    )
    rt.drain()

    # Then every device and the customer's token see one and the same cart
    token = rt.token("customer", sub=CUSTOMER)
    mine = _cart(rt, token=token)
    assert mine.status == 200
    on_phone = _cart(rt, anonymous_id=PHONE).json()
    on_laptop = _cart(rt, anonymous_id=LAPTOP).json()
    assert on_phone["cart_id"] == on_laptop["cart_id"] == mine.json()["cart_id"]
    assert on_phone["lines"] == on_laptop["lines"] == mine.json()["lines"]
    assert mine.json()["profile_id"] == "prof-ayse"
    assert "profile_id" not in on_phone or on_phone["profile_id"] is None  # anonymous answers show no profile
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


def test_a_login_that_merges_two_profiles_brings_their_carts_together() -> None:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        now = datetime.now(UTC)
        track(rt, PHONE, "Product Added", _product("P-COAT", "Kaban", "1299.90"), context="analytics-ios")
        track(rt, LAPTOP, "Product Added", _product("P-COAT", "Kaban", "1299.90", 2), context="analytics.js")
        rt.drain()
        # Given profiles made one anonymous profile per device, and the phone's login attached the customer
        for profile_id, anonymous_id in (("prof-phone", PHONE), ("prof-laptop", LAPTOP)):
            inject_profile_events_until_profiles_is_merged(
                rt,
                ProfileCreated(
                    event_id=profile_event_id(profile_id),
                    occurred_at=now,
                    profile_id=profile_id,
                    identifiers={"anonymous_id": [anonymous_id]},
                ),
            )
        inject_profile_events_until_profiles_is_merged(
            rt,
            ProfileUpdated(
                event_id=profile_event_id("prof-phone", "login"),
                occurred_at=now,
                profile_id="prof-phone",
                added_identifiers={"user_id": [CUSTOMER]},
            ),
        )
        rt.drain()
        # When the laptop's login links the laptop's profile into the customer's (delivered twice)
        merged = ProfileMerged(
            event_id=profile_event_id("merge", "prof-laptop"),
            occurred_at=now,
            merge_id="merge-1",
            survivor_id="prof-phone",
            merged_id="prof-laptop",
            rule="user_id",
        )
        inject_profile_events_until_profiles_is_merged(rt, merged)
        inject_profile_events_until_profiles_is_merged(rt, merged)
        rt.drain()
        # Then one cart: the same product adds up (1 + 2), counted once despite the redelivery
        token = rt.token("customer", sub=CUSTOMER)
        mine = _cart(rt, token=token)
        assert _lines(mine) == {"P-COAT": 3}
        assert _cart(rt, anonymous_id=LAPTOP).json()["cart_id"] == mine.json()["cart_id"]
        # And an agent sees it by profile, read-only
        agent = rt.token("agent", sub="agent-7")
        by_profile = rt.request("GET", "/carts/profiles/prof-laptop", headers={"Authorization": f"Bearer {agent}"})
        assert by_profile.status == 200
        assert by_profile.json()["cart_id"] == mine.json()["cart_id"]
