"""The handoff journey through the local runtime: an Instagram DM, then a phone call from the number on the
profile; the agent context shows the DM, the cart and the open cases. Everything runs: capture -> bus ->
profiles / carts / handoff."""

from __future__ import annotations

import uuid

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, Channel, EventType, utc_iso
from tests.e2e.test_cart_journey import TEMPLATE, identify, settle, track

CUSTOMER = "cus_ayse_2002"
DEVICE = "anon-phone-77aa01"
IGSID = "17841400000000042"
PHONE = "+905321112299"


def captured(name: str, channel: Channel, identifiers: dict[str, str], **properties: object) -> dict[str, object]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    event = CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "source": channel.value,
            "type": EventType.TRACK,
            "name": name,
            "channel": channel,
            "identifiers": identifiers,
            "occurred_at": utc_iso(now),
            "received_at": utc_iso(now),
            "properties": properties,
        }
    )
    return event.to_bus_detail()


def test_instagram_dm_then_a_call_shows_dm_cart_and_open_cases_to_the_agent() -> None:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        # Given a customer with a cart, whose profile knows their Instagram id and phone
        track(
            rt,
            DEVICE,
            "Product Added",
            {"product_id": "P-COAT", "name": "Kaban", "price": 1299.9, "quantity": 1, "currency": "TRY"},
            context="analytics-ios",
        )
        identify(rt, CUSTOMER, DEVICE)
        settle(rt)
        link = captured("Linked", Channel.WEB, {"user_id": CUSTOMER, "instagram": IGSID, "phone": PHONE})
        link["type"] = "identify"
        link.pop("name")
        rt.put_event("identify", link, source=CAPTURE_SOURCE)
        settle(rt)
        # When they write on Instagram, then call from that phone
        rt.put_event(
            "Message Received",
            captured("Message Received", Channel.INSTAGRAM, {"instagram": IGSID}, text="Kaban stokta mı?"),
            source=CAPTURE_SOURCE,
        )
        settle(rt)
        rt.put_event("Call Started", captured("Call Started", Channel.PHONE, {"phone": PHONE}), source=CAPTURE_SOURCE)
        settle(rt)
        # Then the agent's one read shows the DM, the cart and both open cases
        agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-7")}
        profile = rt.request("GET", "/profiles", query={"identifier": f"user_id:{CUSTOMER}"}, headers=agent).json()
        answer = rt.request("GET", f"/handoff/customers/{profile['profile_id']}/context", headers=agent)
        assert answer.status == 200, answer.body
        context = answer.json()
        by_channel = {c["channel"]: c for c in context["conversations"]}
        assert by_channel["instagram"]["last_message"]["text"] == "Kaban stokta mı?"
        assert by_channel["phone"]["state"] == "open"
        assert context["open_conversations"] == 2
        assert [line["product_id"] for line in context["cart"]["lines"]] == ["P-COAT"]
        # (the DM and the call were put on the bus directly, so capture's table, which the timeline reads, has only
        # the events that went through capture's API)
        assert [e.get("name") for e in context["timeline"]["events"] if e["type"] == "track"] == ["Product Added"]
        # And a customer token may not read it
        customer = {"Authorization": "Bearer " + rt.token("customer", sub=CUSTOMER)}
        refused = rt.request("GET", f"/handoff/customers/{profile['profile_id']}/context", headers=customer)
        assert refused.status == 403
