"""Distinct customers count real people, through the local runtime (capture -> bus -> profiles -> KPIs): people
browse anonymously on the web and in the app, then sign in and buy; others never sign in. The anonymous visits
were counted under temporary keys before the profile existed; once profiles announce the identities, those
counts are folded into the profile's, so ``distinct=true`` answers the number of people."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from local_runtime.runtime import LocalRuntime
from tests.e2e.conftest import TEMPLATE

WRITE_KEY = "Basic " + base64.b64encode(b"dev-write-key:").decode()
SIGNED_IN = 10
ANONYMOUS_ONLY = 4


def _message(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": str(uuid.uuid4()), "timestamp": at.isoformat(), **fields}


def _journeys(now: datetime) -> list[list[list[dict[str, Any]]]]:
    """Per person, the batches their devices send, in the order they happen: those who sign in browse on the web
    and in the app first; the others browse the web."""
    out = []
    for person in range(SIGNED_IN + ANONYMOUS_ONLY):
        web, app = f"web-{person}-{uuid.uuid4().hex[:8]}", f"app-{person}-{uuid.uuid4().hex[:8]}"
        at = now - timedelta(hours=3) + timedelta(minutes=person)
        web_ctx = {"library": {"name": "analytics.js"}}
        app_ctx = {"library": {"name": "analytics-ios"}, "device": {"type": "ios"}}
        batches = [
            [_message("page", at, anonymousId=web, name="Home", context=web_ctx),
             _message("page", at + timedelta(minutes=2), anonymousId=web, name="Coats", context=web_ctx)],
        ]  # fmt: skip
        if person < SIGNED_IN:  # (a visitor who never signs in is one device: nothing could tell two apart)
            batches.append(
                [_message("screen", at + timedelta(minutes=5), anonymousId=app, name="Home", context=app_ctx)]
            )
            user = f"cus-{uuid.uuid4().hex[:10]}"
            batches += [
                [_message("identify", at + timedelta(minutes=9), anonymousId=web, userId=user,
                          traits={"email": f"{user}@example.com"}, context=web_ctx),
                 _message("page", at + timedelta(minutes=10), anonymousId=web, userId=user, name="Cart",
                          context=web_ctx),
                 _message("track", at + timedelta(minutes=11), anonymousId=web, userId=user, event="Order Completed",
                          properties={"order_id": f"o-{user}", "revenue": 120.5, "currency": "TRY"}, context=web_ctx)],
                [_message("identify", at + timedelta(minutes=20), anonymousId=app, userId=user, context=app_ctx),
                 _message("screen", at + timedelta(minutes=21), anonymousId=app, userId=user, name="Orders",
                          context=app_ctx)],
            ]  # fmt: skip
        out.append(batches)
    return out


def test_distinct_customers_equal_the_people_who_browsed_anonymously_before_signing_in() -> None:
    now = datetime.now(UTC)
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        # Given 14 people browsing anonymously; 10 of them on the web and in the app, then sign in on both and buy
        journeys = _journeys(now)
        for step in range(max(len(batches) for batches in journeys)):
            for batches in journeys:
                if step < len(batches):
                    answer = rt.request(
                        "POST", "/v1/batch", body={"batch": batches[step]},
                        headers={"Authorization": WRITE_KEY, "Content-Type": "application/json"},
                    )  # fmt: skip
                    assert answer.status == 200, answer.body
            rt.drain()  # the KPIs count some visits before the profiles are announced, some after
        for _ in range(5):
            rt.drain()

        # When an agent asks for today's distinct customers
        token = rt.token("agent", sub="analyst-1")
        answer = rt.request(
            "GET", "/kpis", query={"granularity": "total", "distinct": "true"},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert answer.status == 200, answer.body
        body = json.loads(answer.body)

        # Then they are the 14 people, exactly: 14 on the web, the 10 app users in the app
        assert body["totals"]["customers"] == SIGNED_IN + ANONYMOUS_ONLY
        assert body["totals"]["customers_exact"] is True
        per_channel = {row["channel"]: row["customers"] for row in body["rows"]}
        assert per_channel == {"web": SIGNED_IN + ANONYMOUS_ONLY, "app": SIGNED_IN}
        # And the 10 buyers are 10 new customers
        assert int(body["totals"]["new_customers"]) == SIGNED_IN
