"""Finding 1: a guest's history taken over by naming their identifier from a fresh account.

A guest (store, WhatsApp or web, never signed in) has a profile with e-mail, phone, loyalty card and orders.
Anyone may sign up and send ``identify {userId: <own sub>, <the guest's identifier>}`` with the public write key.
That link is only asserted: the two profiles do not merge (staff get a suggested match), the attacker's profile,
timeline and KPIs show nothing of the guest, and when the real customer signs up with that e-mail verified by
Cognito, the guest's history becomes theirs with no conflict.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.conftest import Shop, device, phone_number, tag, text_of


def store_guest(shop: Shop, run: str) -> dict[str, str]:
    """A guest who bought a coat in the store with a loyalty card and wrote on WhatsApp from their phone."""
    guest = {
        "email": f"guest.{run}@posta.com.tr",
        "phone": phone_number(),
        "loyalty_card": f"LC-{run.upper()}",
    }
    shop.sale(
        "kadikoy",
        f"T-{run}",
        {"loyalty_card": guest["loyalty_card"], "email": guest["email"], "phone": guest["phone"]},
        [("SKU-COAT", "2499.90")],
    )
    shop.whatsapp(guest["phone"].lstrip("+"), f"My address is Moda Cd. 12, Kadıköy ({run})")
    shop.settle()
    return guest


def web_guest(shop: Shop, run: str) -> dict[str, str]:
    """A guest who checked out on the web without an account: e-mail, phone and address typed into the form."""
    browser = device()
    guest = {"email": f"web.{run}@posta.com.tr", "phone": phone_number(), "anonymous_id": browser}
    shop.identify(anonymousId=browser, traits={"email": guest["email"], "phone": guest["phone"], "address": "Moda"})
    shop.track(
        "Order Completed",
        anonymousId=browser,
        properties={"order_id": f"W-{run}", "total": 499, "currency": "TRY", "email": guest["email"]},
    )
    shop.settle()
    return guest


def assert_sees_nothing_of(shop: Shop, sub: str, guest: dict[str, str], run: str) -> None:
    """Through every customer-facing read of their own token, the attacker sees nothing of the guest."""
    mine = shop.my_profile(sub)
    timeline = shop.my_timeline(sub)
    values = [value for key, value in guest.items() if key != "anonymous_id"]
    for value in values:
        assert value.lstrip("+") not in text_of(mine).replace("+", ""), mine
        assert value.lstrip("+") not in text_of(timeline).replace("+", ""), timeline
    for trace in (f"T-{run}", f"W-{run}", f"({run})"):  # the guest's order ids and message
        assert trace not in text_of(timeline)
    assert all(event["identifiers"].get("user_id") == sub for event in timeline)
    kpis = shop.get(f"/kpis/customers/{sub}", shop.customer(sub))
    if kpis.status == 200:  # their value holds at most their own 1 TRY test order, never the guest's coat
        assert float(kpis.json().get("gross") or 0) <= 1, kpis.json()


@pytest.mark.parametrize(
    "how",
    ["identify_email", "identify_phone", "identify_loyalty_card", "external_ids", "context_traits", "server_fields"],
)
def test_naming_a_store_guests_identifier_takes_nothing_over(shop: Shop, how: str) -> None:
    run = tag()
    guest = store_guest(shop, run)
    victim = shop.profile_by("email", guest["email"])
    assert victim is not None
    attacker = f"sub-attacker-{run}"
    # When a fresh account names the guest's identifier with the public write key, in one of several ways
    messages: dict[str, dict[str, Any]] = {
        "identify_email": {"traits": {"email": guest["email"]}},
        "identify_phone": {"traits": {"phone": guest["phone"]}},
        "identify_loyalty_card": {"traits": {"loyaltyCard": guest["loyalty_card"]}},
        "external_ids": {"context": {"externalIds": [{"type": "email", "id": guest["email"], "collection": "users"}]}},
        "context_traits": {"context": {"traits": {"email": guest["email"], "phone": guest["phone"]}}},
        "server_fields": {"traits": {"email": guest["email"], "loyalty_card": guest["loyalty_card"]}},
    }
    shop.identify(userId=attacker, **messages[how])
    shop.track("Order Completed", userId=attacker, properties={"order_id": f"A-{run}", "total": 1, "currency": "TRY"})
    shop.settle()
    # Then the attacker's own reads show nothing of the guest
    assert_sees_nothing_of(shop, attacker, guest, run)
    # And the guest's profile is whole, and not the attacker's
    after = shop.profile_by("email", guest["email"])
    assert after is not None
    assert after["profile_id"] == victim["profile_id"]
    assert "user_id" not in after["identifiers"]
    # And staff see the likely match, to confirm or not
    merges = shop.get(f"/profiles/{victim['profile_id']}/merges", shop.agent).json()
    assert [(item["reason"]) for item in merges["suggestions"]] == ["asserted"]


def test_an_alias_to_a_web_guests_browser_takes_nothing_over(shop: Shop) -> None:
    run = tag()
    guest = web_guest(shop, run)
    attacker = f"sub-attacker-{run}"
    # When the attacker aliases their account to the guest's browser id (alias instead of identify)
    shop.alias(userId=attacker, previousId=guest["anonymous_id"])
    shop.identify(userId=attacker, anonymousId=guest["anonymous_id"])
    shop.settle()
    # Then nothing of the guest reaches them
    assert_sees_nothing_of(shop, attacker, guest, run)
    assert shop.profile_by("email", guest["email"])["identifiers"].get("user_id") is None  # type: ignore[index]


def test_the_real_customer_signing_up_later_gets_the_guest_history_with_no_conflict(shop: Shop) -> None:
    run = tag()
    guest = store_guest(shop, run)
    # Given the attacker tried first
    shop.identify(userId=f"sub-attacker-{run}", traits={"email": guest["email"]})
    shop.settle()
    # When the real customer signs up, their app identifies them and sends their ID token (e-mail verified)
    owner = f"sub-owner-{run}"
    shop.identify(userId=owner, traits={"email": guest["email"], "name": "Ayşe"})
    shop.settle()
    proved = shop.prove(owner, email=guest["email"])
    shop.settle()
    # Then their account holds the guest's history: the store order is theirs to see, no conflict
    assert proved.status == 200, proved.body
    assert proved.json()["refused"] == []
    mine = shop.my_profile(owner)
    assert guest["email"] in mine["identifiers"]["email"]
    assert guest["loyalty_card"] in mine["identifiers"]["loyalty_card"]
    names = [(event["channel"], event.get("name")) for event in shop.my_timeline(owner)]
    assert ("store", "Order Completed") in names
    # (the store saw the phone with the e-mail, and Meta vouches for the number: the chat is theirs too)
    assert ("whatsapp", "Message Received") in names
    # And the attacker still sees nothing
    assert_sees_nothing_of(shop, f"sub-attacker-{run}", guest, run)


def test_a_proof_needs_an_id_tokens_verified_claim(shop: Shop) -> None:
    run = tag()
    sub = f"sub-{run}"
    # An access token carries no e-mail; an ID token whose e-mail is not verified proves nothing
    access = shop.rt.request("POST", "/profiles/me/verified-identifiers", headers=shop.customer(sub))
    unverified = shop.rt.request(
        "POST",
        "/profiles/me/verified-identifiers",
        headers=shop.bearer(
            "customer", sub, id_token=True, claims={"email": "x@posta.com.tr", "email_verified": False}
        ),
    )
    for answer in (access, unverified):
        assert answer.status == 400
        assert {error["field"] for error in answer.json()["errors"]} >= {"header.authorization.email_verified"}


def test_a_server_key_vouches_for_its_links(shop: Shop) -> None:
    """The boundary the other way round: a back-office system's server key is a verified source. Its link of an
    account to a guest's e-mail merges them, and the customer sees that history."""
    run = tag()
    guest = store_guest(shop, run)
    customer = f"sub-crm-{run}"
    shop.identify(userId=customer, traits={"email": guest["email"]}, key="dev-server-key")
    shop.settle()
    names = [(event["channel"], event.get("name")) for event in shop.my_timeline(customer)]
    assert ("store", "Order Completed") in names
