"""Finding 6: placeholders link strangers. One cleaning and one blocklist wherever an identifier enters: the
values SDKs and forms send when they have nothing are never customer ids, device ids or alias targets, so two
strangers who each send them stay two strangers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.conftest import Shop, tag

PLACEHOLDERS = [
    "anonymous",
    "null",
    "0",
    "guest",
    "[object Object]",
    "NaN",
    "None",
    "unknown",
    " ",
    "00000000-0000-0000-0000-000000000000",
    "(null)",
    "<null>",
    "true",
    "false",
    "{}",
    "[]",
    "undefined undefined",
    "user",
    "\u200b",
    "9774d56d682e549c",
]


def _profiles_of(shop: Shop, emails: list[str]) -> set[str]:
    found = [shop.profile_by("email", email) for email in emails]
    return {profile["profile_id"] for profile in found if profile is not None}


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_two_strangers_sending_a_placeholder_user_id_stay_strangers(shop: Shop, placeholder: str) -> None:
    run = tag()
    emails = [f"one.{run}@posta.com.tr", f"two.{run}@posta.com.tr"]
    for email in emails:
        answer = shop.identify(userId=placeholder, traits={"email": email}, expect=400)
        assert [error["field"] for error in answer.json()["errors"]] == ["userId"]
        # With a real browser id beside it the call is kept, without the placeholder
        shop.identify(userId=placeholder, anonymousId=f"browser-{email}", traits={"email": email})
        shop.track("Order Completed", userId=placeholder, anonymousId=f"browser-{email}", properties={"total": 1})
    shop.settle()
    assert len(_profiles_of(shop, emails)) == 2
    assert shop.profile_by("user_id", placeholder.strip() or "x") is None


@pytest.mark.parametrize("placeholder", ["anonymous", "null", "0", "\u200b", "[object Object]"])
def test_two_strangers_aliasing_a_placeholder_stay_strangers(shop: Shop, placeholder: str) -> None:
    run = tag()
    subs = [f"sub-a-{run}", f"sub-b-{run}"]
    for sub in subs:
        shop.identify(userId=sub, traits={"email": f"{sub}@posta.com.tr"})
        answer = shop.alias(userId=sub, previousId=placeholder, expect=400)
        assert [error["field"] for error in answer.json()["errors"]] == ["previousId"]
    shop.settle()
    assert len({shop.profile_by("user_id", sub)["profile_id"] for sub in subs}) == 2  # type: ignore[index]


@pytest.mark.parametrize("value", [True, False, 1.5, {"id": 1}, ["a"]])
def test_a_user_id_that_is_not_text_is_refused_naming_it(shop: Shop, value: Any) -> None:
    answer = shop.identify(userId=value, anonymousId="b0d3c1e8-0f6a-4e7c-9b2d-8c5e3f1a0b74", expect=400)
    assert "userId" in {error["field"] for error in answer.json()["errors"]}


def test_a_batch_keeps_the_good_messages_beside_a_placeholder(shop: Shop) -> None:
    run = tag()
    batch = {
        "batch": [
            {"type": "identify", "userId": "null", "messageId": f"bad-{run}"},
            {"type": "identify", "userId": f"sub-{run}", "messageId": f"good-{run}", "traits": {"name": "Ok"}},
        ]
    }
    answer = shop.rt.request("POST", "/v1/batch", headers={"Authorization": "Basic ZGV2LXdlYi1rZXk6"}, body=batch)
    assert answer.status == 200
    assert answer.json()["accepted"] == 1
    assert [error["field"] for error in answer.json()["rejected"][0]["errors"]] == ["batch.0.userId"]
