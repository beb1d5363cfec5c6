"""The demo as a newcomer plays it (``make dev``'s journey and console fill), then the README's SDK example run
as written: everything resolves as the README and the demo show, and no stranger appears in any demo customer's
360 view (profile, timeline and the agent's handoff context)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_runtime import demo_data
from local_runtime.demo import journey
from local_runtime.runtime import LocalRuntime
from tests.security.conftest import META_SECRET, TEMPLATE, Shop, lines, text_of

README = Path(__file__).resolve().parents[2] / "README.md"
RUN = "d3m0"


def readme_sdk_example() -> str:
    """The Python block of the README's "Point an analytics SDK at it" section, exactly as written."""
    section = README.read_text(encoding="utf-8").split("## Point an analytics SDK at it", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README's SDK example moved"
    return match.group(1)


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Shop, dict[str, str], demo_data.Dataset]]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        shop = Shop(rt)
        steps, identifiers = journey(RUN, datetime.now(UTC))
        for step in steps:
            answer = rt.request(step.method, step.path, headers=step.headers, body=step.body)
            assert answer.status == step.expect, (step.title, answer.body)
        shop.settle(5)

        def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            answer = rt.request(method, path, body=body, headers=headers)
            return answer.status, answer.body.decode()

        data = demo_data.seed(
            send,
            run=RUN,
            now=datetime.now(UTC),
            admin_token=rt.token("admin"),
            meta_app_secret=META_SECRET,
            customers=6,
        )
        assert data.problems == []
        shop.settle(5)
        # The README's SDK example, run as written against this runtime (its host swapped for the runtime's URL)
        code = readme_sdk_example().replace("http://127.0.0.1:3000", rt.base_url)
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example, on purpose
        shop.settle(5)
        yield shop, dict(identifiers), data


def view_360(shop: Shop, profile_id: str) -> dict[str, Any]:
    profile = shop.get(f"/profiles/{profile_id}", shop.agent).json()
    timeline = shop.staff_timeline(profile_id)
    context = shop.get(f"/handoff/customers/{profile_id}/context", shop.agent).json()
    return {"profile": profile, "timeline": timeline, "context": context}


def strangers_in(view: dict[str, Any], own_user_id: str) -> list[str]:
    events = view["timeline"] + view["context"]["timeline"]["events"]
    return sorted(
        {e["identifiers"]["user_id"] for e in events if e["identifiers"].get("user_id", own_user_id) != own_user_id}
    )


def test_the_readme_example_resolves_as_it_shows_and_stays_out_of_the_demo_customer(
    demo: tuple[Shop, dict[str, str], demo_data.Dataset],
) -> None:
    shop, identifiers, _ = demo
    example = readme_sdk_example()
    user_id = re.search(r'analytics\.identify\("([^"]+)"', example).group(1)  # type: ignore[union-attr]
    # The example's customer has a profile of its own, found by its customer id
    mine = shop.profile_by("user_id", user_id)
    assert mine is not None
    # The demo customer's 360 shows nothing of the example's customer, though it named her phone number
    ayse = shop.profile_by("email", identifiers["email"])
    assert ayse is not None
    view = view_360(shop, ayse["profile_id"])
    assert strangers_in(view, f"cust-{RUN}") == []
    assert user_id not in text_of(view)


def test_no_stranger_appears_in_any_demo_customers_360(demo: tuple[Shop, dict[str, str], demo_data.Dataset]) -> None:
    shop, _, data = demo
    for person in data.customers:
        profile = shop.profile_by("user_id", person["user_id"])
        assert profile is not None, person["user_id"]
        view = view_360(shop, profile["profile_id"])
        assert strangers_in(view, person["user_id"]) == [], person["user_id"]
        others = [other for other in data.customers if other is not person]
        for other in others:
            assert other["email"] not in text_of(view), (person["user_id"], other["user_id"])


def test_the_demo_customers_store_purchase_left_her_online_cart_and_her_view_is_hers(
    demo: tuple[Shop, dict[str, str], demo_data.Dataset],
) -> None:
    shop, identifiers, _ = demo
    sub = f"cust-{RUN}"
    assert "SKU-KABAN-38" not in lines(shop.my_cart(sub))
    # Her own token: the profile she proved, with every channel's event tied to her by verified links
    mine = shop.my_profile(sub)
    assert identifiers["email"] in mine["identifiers"]["email"]
    assert identifiers["loyalty_card"] in mine["identifiers"]["loyalty_card"]
    channels = {event["channel"] for event in shop.my_timeline(sub)}
    assert channels >= {"app", "whatsapp", "store"}
