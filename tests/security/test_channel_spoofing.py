"""Only the provider speaks for a customer on WhatsApp and SMS: a "reply" the public write key claims there (the
victim's number in ``context.externalIds``, any date) changes no consent, stops no journey and is no message in
the conversation an agent reads. A signed webhook's STOP / START and a server key's relayed message still are.

``dev-write-key`` is the client key with no channel pinned (``dev-web-key`` is always the web): it may name any
channel, as a kiosk or a chat widget does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.security.conftest import SERVER_KEY, Shop, phone_number, tag

UNPINNED_CLIENT_KEY = "dev-write-key"


def _forged_reply(wa_id: str, *, hours_ahead: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Message Received",
        "anonymousId": str(uuid.uuid4()),
        "timestamp": (datetime.now(UTC) + timedelta(hours=hours_ahead)).isoformat(),
        "context": {"channel": "whatsapp", "externalIds": [{"type": "whatsapp", "id": wa_id, "collection": "users"}]},
        "properties": properties,
    }


def _customer_on_whatsapp(shop: Shop, first_reply: str) -> tuple[str, str]:
    """A store customer (e-mail and phone, signed POS sale) who then wrote ``first_reply`` on WhatsApp."""
    run, phone = tag(), phone_number()
    wa_id = phone.lstrip("+")
    shop.sale("kadikoy", f"T-{run}", {"email": f"c.{run}@posta.com.tr", "phone": phone}, [("SKU-1", "10.00")])
    shop.whatsapp(wa_id, first_reply)
    shop.settle()
    profile = shop.profile_by("phone", phone)
    assert profile is not None
    return profile["profile_id"], wa_id


def _customer_in_follow_up(shop: Shop) -> tuple[str, str]:
    """An opted-in WhatsApp customer whose first-purchase follow-up is running (not in its holdout group)."""
    for _ in range(10):
        profile_id, wa_id = _customer_on_whatsapp(shop, "START")
        if _journey_statuses(shop, profile_id).get("first_purchase_follow_up") == "active":
            return profile_id, wa_id
    raise AssertionError("ten customers in a row were held out of the first-purchase follow-up")


def _context(shop: Shop, profile_id: str) -> dict[str, Any]:
    answer = shop.get(f"/handoff/customers/{profile_id}/context", shop.agent)
    assert answer.status == 200, answer.body
    context: dict[str, Any] = answer.json()
    return context


def _journey_statuses(shop: Shop, profile_id: str) -> dict[str, str]:
    answer = shop.get(f"/journeys/customers/{profile_id}", shop.agent)
    assert answer.status == 200, answer.body
    return {run["journey_id"]: run["status"] for run in answer.json()["journeys"]}


def test_a_public_key_cannot_opt_a_customer_back_in_on_whatsapp(shop: Shop) -> None:
    # Given a customer who wrote STOP on WhatsApp (the signed webhook)
    profile_id, wa_id = _customer_on_whatsapp(shop, "STOP")
    assert _context(shop, profile_id)["consent"] == {"whatsapp": "opted_out"}

    # When someone with the public key sends "START" as them, dated 20 hours ahead
    forged = _forged_reply(wa_id, hours_ahead=20, text="START")
    assert shop.send("/v1/track", forged, key=UNPINNED_CLIENT_KEY).status == 200
    shop.settle()

    # Then the customer is still opted out and not reachable there, and no agent reads "START" as theirs
    context = _context(shop, profile_id)
    assert context["consent"] == {"whatsapp": "opted_out"}
    assert "whatsapp" not in context["reachable_channels"]
    assert "START" not in str(context["conversations"])

    # And the customer's own START (signed, now) opts them in: the forged date outranks nothing
    shop.whatsapp(wa_id, "START")
    shop.settle()
    assert _context(shop, profile_id)["consent"] == {"whatsapp": "opted_in"}


def test_a_public_key_cannot_stop_a_customers_journeys_or_messages(shop: Shop) -> None:
    # Given a customer who opted in on WhatsApp and is in the first-purchase follow-up
    profile_id, wa_id = _customer_in_follow_up(shop)
    before = _journey_statuses(shop, profile_id)

    # When someone with the public key sends an opt-out as them (Twilio's flag, and the keyword)
    forged_stops = (
        _forged_reply(wa_id, hours_ahead=23, opt_out=True),
        _forged_reply(wa_id, hours_ahead=1, text="STOP"),
    )
    for forged in forged_stops:
        assert shop.send("/v1/track", forged, key=UNPINNED_CLIENT_KEY).status == 200
    shop.settle()

    # Then they stay opted in and in their journey
    assert _context(shop, profile_id)["consent"] == {"whatsapp": "opted_in"}
    assert _journey_statuses(shop, profile_id) == before


def test_a_server_key_relaying_a_customers_stop_is_honoured(shop: Shop) -> None:
    # Given a customer who opted in on WhatsApp and is in the first-purchase follow-up
    profile_id, wa_id = _customer_in_follow_up(shop)

    # When the retailer's back office (the server key) relays their STOP
    relayed = _forged_reply(wa_id, hours_ahead=0, text="STOP")
    assert shop.send("/v1/track", relayed, key=SERVER_KEY).status == 200
    shop.settle()

    # Then it is their reply: opted out, and out of their journeys
    assert _context(shop, profile_id)["consent"] == {"whatsapp": "opted_out"}
    assert _journey_statuses(shop, profile_id).get("first_purchase_follow_up") == "exited"
