"""Findings 7, 8 and 9: an undone merge stays undone through any path; erasure removes exactly the customer and
stays erased; group traits describe the group."""

from __future__ import annotations

import json
from typing import Any

from tests.security.conftest import SERVER_KEY, Shop, device, phone_number, tag, text_of


def _scan(shop: Shop, logical_id: str) -> list[dict[str, Any]]:
    client = shop.rt.client("dynamodb")
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": shop.rt.table_name(logical_id)}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _undo(shop: Shop, survivor_id: str) -> dict[str, Any]:
    [merge] = shop.get(f"/profiles/{survivor_id}/merges", shop.agent).json()["merges"]
    undone = shop.rt.request("POST", f"/profiles/{survivor_id}/merges/{merge['merge_id']}/undo", headers=shop.admin)
    assert undone.status == 200, undone.body
    return dict(undone.json())


def test_an_undone_merge_stays_undone_through_a_third_profile(shop: Shop) -> None:
    run = tag()
    a_user, a_mail, b_mail = f"sub-a-{run}", f"a.{run}@posta.com.tr", f"b.{run}@posta.com.tr"
    d_browser, d_phone = device(), phone_number()
    # Given D (the oldest: a back-office record), A (a customer) and B (a store guest)
    shop.identify(anonymousId=d_browser, traits={"phone": d_phone}, key=SERVER_KEY)
    shop.settle()
    shop.identify(userId=a_user, traits={"email": a_mail}, key=SERVER_KEY)
    shop.settle()
    shop.sale("moda", f"TB-{run}", {"loyalty_card": f"LB-{run}", "email": b_mail}, [("SKU-1", "10")])
    shop.settle()
    # And a clerk who typed A's e-mail on B's receipt merged A and B, which an admin undid
    shop.sale("moda", f"TX-{run}", {"loyalty_card": f"LB-{run}", "email": a_mail}, [("SKU-2", "10")])
    shop.settle()
    a_profile = shop.profile_by("user_id", a_user)
    assert a_profile is not None
    assert f"LB-{run}".upper() in a_profile["identifiers"]["loyalty_card"]
    _undo(shop, a_profile["profile_id"])
    shop.settle()
    # And B met D since (a verified sale with B's card and D's phone): B is part of D now
    shop.sale("moda", f"TD-{run}", {"loyalty_card": f"LB-{run}", "phone": d_phone}, [("SKU-3", "10")])
    shop.settle()
    d_profile = shop.profile_by("anonymous_id", d_browser)
    assert d_profile is not None
    assert b_mail in d_profile["identifiers"]["email"]
    # When A's customer id and D's browser are linked, asserted (a client key) or verified (a server key)
    shop.identify(userId=a_user, anonymousId=d_browser)
    shop.identify(userId=a_user, anonymousId=d_browser, key=SERVER_KEY)
    shop.settle()
    # Then A stays apart from D and B
    a_now, d_now = shop.profile_by("user_id", a_user), shop.profile_by("anonymous_id", d_browser)
    assert a_now is not None
    assert d_now is not None
    assert a_now["profile_id"] != d_now["profile_id"]
    assert b_mail not in text_of(a_now)
    conflicts = shop.get(f"/profiles/{a_now['profile_id']}/merges", shop.agent).json()["conflicts"]
    assert "split" in {conflict["reason"] for conflict in conflicts}


def test_erasing_one_customer_of_a_family_tablet_keeps_the_others_order_without_the_erased_identifiers(
    shop: Shop,
) -> None:
    run = tag()
    tablet = device()
    first, second = f"sub-1-{run}", f"sub-2-{run}"
    first_mail = f"one.{run}@posta.com.tr"
    shop.identify(userId=first, anonymousId=tablet, traits={"email": first_mail})
    shop.track("Order Completed", userId=first, anonymousId=tablet, properties={"order_id": f"O1-{run}", "total": 5})
    shop.settle()
    shop.identify(userId=second, anonymousId=tablet)
    shop.track("Order Completed", userId=second, anonymousId=tablet, properties={"order_id": f"O2-{run}", "total": 9})
    shop.settle()
    first_profile = shop.profile_by("user_id", first)
    assert first_profile is not None
    # When an admin erases the first customer
    erased = shop.rt.request("DELETE", f"/profiles/{first_profile['profile_id']}", headers=shop.admin)
    assert erased.status == 200, erased.body
    shop.settle()
    # Then no table holds anything of the first customer: not their id, e-mail, tablet id or order
    for table in ("ProfilesTable", "EventsTable", "CartsTable", "KpisTable", "HandoffTable", "OutboundTable"):
        stored = text_of(_scan(shop, table))
        for value in (first, first_mail, tablet, f"O1-{run}"):
            assert value not in stored, (table, value)
    # And the second customer's order stayed, in their timeline, without the erased customer's tablet id
    theirs = shop.my_timeline(second)
    assert f"O2-{run}" in text_of(theirs)


def test_erasing_an_unmerged_customer_leaves_no_identifier_in_the_other_profiles_records(shop: Shop) -> None:
    run = tag()
    ali_phone, veli_mail = phone_number(), f"veli.{run}@posta.com.tr"
    shop.sale("moda", f"TA-{run}", {"loyalty_card": f"LA-{run}", "phone": ali_phone}, [("SKU-1", "10")])
    shop.settle()
    shop.sale("moda", f"TV-{run}", {"loyalty_card": f"LV-{run}", "email": veli_mail}, [("SKU-1", "10")])
    shop.settle()
    # A clerk typed Ali's card on Veli's receipt: merged, then undone by an admin
    shop.sale("moda", f"TX-{run}", {"loyalty_card": f"LA-{run}", "email": veli_mail}, [("SKU-2", "10")])
    shop.settle()
    ali = shop.profile_by("phone", ali_phone)
    assert ali is not None
    restored = _undo(shop, ali["profile_id"])["restored"]
    shop.settle()
    # When the restored customer (Veli) is erased
    assert shop.rt.request("DELETE", f"/profiles/{restored['profile_id']}", headers=shop.admin).status == 200
    shop.settle()
    # Then Ali's merge and unmerge records keep their ids and times, but none of Veli's identifiers
    records = [
        item
        for item in _scan(shop, "ProfilesTable")
        if item["pk"]["S"] == f"PROFILE#{ali['profile_id']}" and item["sk"]["S"].startswith(("MERGE#", "UNMERGE#"))
    ]
    assert len(records) == 2
    assert veli_mail not in text_of(records)
    assert f"LV-{run}".upper() not in text_of(records)


def test_an_erased_customer_stays_erased_until_an_admin_lifts_the_suppression(shop: Shop) -> None:
    run = tag()
    email = f"gone.{run}@posta.com.tr"
    shop.identify(userId=f"sub-{run}", traits={"email": email})
    shop.settle()
    profile = shop.profile_by("email", email)
    assert profile is not None
    assert shop.rt.request("DELETE", f"/profiles/{profile['profile_id']}", headers=shop.admin).status == 200
    shop.settle()
    # When a late or replayed event carries the erased identifiers
    shop.identify(userId=f"sub-{run}", traits={"email": email, "name": "Back"})
    shop.track("Order Completed", properties={"email": email, "total": 3}, anonymousId=device())
    shop.settle()
    # Then no profile is rebuilt from them
    assert shop.profile_by("email", email) is None
    assert shop.profile_by("user_id", f"sub-{run}") is None
    assert email not in text_of(_scan(shop, "ProfilesTable"))
    # When the customer comes back on purpose and an admin lifts the suppression of their e-mail
    lifted = shop.rt.request("DELETE", f"/profiles/suppressions/email:{email}", headers=shop.admin)
    assert lifted.status == 200
    assert lifted.json()["lifted"] is True
    shop.identify(userId=f"sub-new-{run}", traits={"email": email})
    shop.settle()
    # Then it links again
    assert shop.profile_by("email", email) is not None
    # And only an admin lifts one
    agent_try = shop.rt.request("DELETE", f"/profiles/suppressions/email:{email}", headers=shop.agent)
    assert agent_try.status == 403


def test_group_traits_describe_the_group_not_the_person(shop: Shop) -> None:
    run = tag()
    user = f"sub-{run}"
    shop.identify(userId=user, traits={"name": "Ayşe Yılmaz"})
    shop.settle()
    shop.group(userId=user, groupId=f"moda-{run}", traits={"name": "Moda Ltd", "employees": 12})
    shop.settle()
    profile = shop.profile_by("user_id", user)
    assert profile is not None
    assert profile["traits"]["name"]["value"] == "Ayşe Yılmaz"
    assert profile["groups"] == [
        {
            "group_id": f"moda-{run}",
            "traits": {"name": "Moda Ltd", "employees": 12},
            "occurred_at": profile["groups"][0]["occurred_at"],
        }
    ]
    assert json.dumps(shop.my_profile(user)["traits"]).count("Moda Ltd") == 0


def test_an_order_in_flight_during_the_erasure_is_erased_too(shop: Shop) -> None:
    run = tag()
    user, email = f"sub-f-{run}", f"flight.{run}@posta.com.tr"
    shop.identify(userId=user, traits={"email": email})
    shop.settle()
    profile = shop.profile_by("email", email)
    assert profile is not None
    # Given an order capture stored but the resolver has not seen yet when an admin erases the customer
    shop.track("Order Completed", userId=user, properties={"order_id": f"OF-{run}", "total": 7, "email": email})
    erased = shop.rt.request("DELETE", f"/profiles/{profile['profile_id']}", headers=shop.admin)
    assert erased.status == 200, erased.body
    # When everything is delivered (the order reaches the resolver after the erasure)
    shop.settle()
    # Then neither the profiles nor the events table holds the customer or their order: the resolver saw the
    # suppressed identifiers and had capture erase the order
    for table in ("ProfilesTable", "EventsTable"):
        stored = text_of(_scan(shop, table))
        for value in (user, email, f"OF-{run}"):
            assert value not in stored, (table, value)
