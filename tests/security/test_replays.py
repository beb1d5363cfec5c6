"""Replayed webhooks: a signed request sent again (by the provider's retry or by someone who captured it) is the
same event, counted once; it cannot be moved to another store's path; a store purchase replayed takes the bought
lines off the cart once."""

from __future__ import annotations

import time

from tests.security.conftest import Shop, lines, tag, text_of


def test_a_replayed_whatsapp_message_is_one_event(shop: Shop) -> None:
    run = tag()
    wa_id = f"90532{int(run[:6], 16) % 10_000_000:07d}"
    body = shop.whatsapp(wa_id, f"hello {run}")
    for _ in range(3):
        again = shop.whatsapp_raw(body)
        assert again.json()["duplicates"] == 1
    shop.settle()
    profile = shop.profile_by("whatsapp", wa_id)
    assert profile is not None
    assert text_of(shop.staff_timeline(profile["profile_id"])).count(f"hello {run}") == 1


def test_a_replayed_store_sale_takes_the_coat_off_once_and_not_at_another_store(shop: Shop) -> None:
    run = tag()
    customer, email = f"sub-{run}", f"r.{run}@posta.com.tr"
    shop.identify(userId=customer, traits={"email": email})
    coat = {"product_id": "SKU-COAT", "price": 10, "quantity": 2, "currency": "TRY"}
    shop.track("Product Added", userId=customer, properties=coat)
    shop.settle()
    assert shop.prove(customer, email=email).status == 200
    shop.settle()
    at = int(time.time())
    body = shop.pos("moda", _sale(run, email), at=at)
    shop.settle()
    # When the same signed sale is sent again, and once more to another store's path
    shop.pos_raw("moda", body, at=at)
    shop.pos_raw("kadikoy", body, at=at, signed_for="moda", expect=401)
    shop.settle()
    # Then one coat came off the two, once
    assert lines(shop.my_cart(customer)) == {"SKU-COAT": 1}


def test_a_stale_store_signature_is_refused(shop: Shop) -> None:
    run = tag()
    refused = shop.pos_raw(
        "moda", b'{"type": "visit", "transaction_id": "V-%s"}' % run.encode(), at=int(time.time()) - 3600, expect=401
    )
    assert refused.status == 401


def _sale(run: str, email: str) -> dict[str, object]:
    return {
        "type": "sale",
        "transaction_id": f"T-{run}",
        "customer": {"email": email},
        "currency": "TRY",
        "total": "10",
        "items": [{"sku": "SKU-COAT", "name": "coat", "quantity": 1, "price": "10"}],
    }
