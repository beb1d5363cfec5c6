"""Finding 2 and issue 16's carts: a device's cart is opened by its own unguessable credential only, joins a
customer's cart only when the customer signs in on it, and the customer's cart follows them into the store.

Attack: ``identify {userId: B, anonymousId: <attacker's device>}`` with the public write key, then
``/carts/anonymous`` with that device id: B's cart must stay out of reach, and nothing the attacker adds may show
up in B's cart.
"""

from __future__ import annotations

from tests.security.conftest import Shop, device, lines, phone_number, tag


def coat(product_id: str = "SKU-COAT", quantity: int = 1) -> dict[str, object]:
    return {"product_id": product_id, "name": "Yün kaban", "price": 2499.90, "quantity": quantity, "currency": "TRY"}


def test_a_public_key_identify_never_hands_a_device_a_customers_cart(shop: Shop) -> None:
    run = tag()
    victim = f"sub-b-{run}"
    # Given B's cart, filled in B's app
    shop.track("Product Added", userId=victim, properties=coat())
    shop.settle()
    attacker_device = device()
    # When the attacker claims their own device is B's
    shop.identify(userId=victim, anonymousId=attacker_device)
    shop.settle()
    # Then their device's credential opens their own (empty) cart, not B's
    seen = shop.device_cart(attacker_device)
    assert seen.status == 200
    assert lines(seen) == {}
    # And what they add there stays there
    added = shop.rt.request(
        "POST",
        "/carts/anonymous/lines",
        headers={"X-Anonymous-Id": attacker_device},
        body={"product_id": "SKU-SPAM", "quantity": 1, "unit_price": "1", "currency": "TRY"},
    )
    assert added.status == 200
    shop.settle()
    assert lines(shop.my_cart(victim)) == {"SKU-COAT": 1}
    # And asking to merge needs B's own token: the attacker's token merges into the attacker's cart only
    shop.sign_in_cart(f"sub-attacker-{run}", attacker_device)
    assert lines(shop.my_cart(victim)) == {"SKU-COAT": 1}


def test_guessable_device_ids_open_nothing(shop: Shop) -> None:
    for guess in ("00000000", "anonymous", "web-1", "11111111-1111-1111-1111-111111111111"):
        answer = shop.device_cart(guess)
        assert answer.status == 400, guess
        assert answer.json()["errors"][0]["field"] == "header.x-anonymous-id"


def test_a_device_cart_joins_on_sign_in_with_token_and_credential_and_is_closed_to_the_credential_after(
    shop: Shop,
) -> None:
    run = tag()
    customer = f"sub-{run}"
    phone = device()
    # Given a cart filled anonymously on the phone (the app's analytics and the device's own API calls)
    shop.track("Product Added", anonymousId=phone, properties=coat())
    shop.settle()
    assert lines(shop.device_cart(phone)) == {"SKU-COAT": 1}
    # When the customer signs in on the phone: identify, then the app's merge with their token and its credential
    shop.identify(userId=customer, anonymousId=phone)
    shop.settle()
    merged = shop.sign_in_cart(customer, phone)
    # Then the phone's cart is the customer's
    assert merged.status == 200
    assert lines(merged) == {"SKU-COAT": 1}
    assert lines(shop.my_cart(customer)) == {"SKU-COAT": 1}
    # And the device credential alone opens nothing any more (whoever learns it from analytics traffic)
    closed = shop.device_cart(phone)
    assert closed.status == 409
    assert closed.json()["code"] == "signed_in"
    # And a second customer signing in on the same (shared) device gets nothing of the first's cart
    other = f"sub-other-{run}"
    again = shop.sign_in_cart(other, phone)
    assert again.status == 200
    assert lines(again) == {}


def test_a_store_purchase_takes_the_coat_off_the_online_cart(shop: Shop) -> None:
    run = tag()
    customer = f"sub-{run}"
    email = f"shopper.{run}@posta.com.tr"
    card = f"LC-{run.upper()}"
    # Given a coat and a scarf in her online cart, and her verified e-mail on her account
    shop.identify(userId=customer, traits={"email": email})
    shop.track("Product Added", userId=customer, properties=coat())
    shop.track("Product Added", userId=customer, properties=coat("SKU-SCARF"))
    shop.settle()
    assert shop.prove(customer, email=email).status == 200
    shop.settle()
    # When she buys the coat in the store with her loyalty card and her e-mail (the POS, signed)
    shop.sale("kadikoy", f"T-{run}", {"loyalty_card": card, "email": email}, [("SKU-COAT", "2499.90")])
    shop.settle()
    # Then the coat left her online cart, the scarf stayed, and the cart is still open
    assert lines(shop.my_cart(customer)) == {"SKU-SCARF": 1}
    # And her next store purchase with only the card (now tied to her) reaches it too
    shop.sale("kadikoy", f"T2-{run}", {"loyalty_card": card}, [("SKU-SCARF", "199.00")])
    shop.settle()
    assert lines(shop.my_cart(customer)) == {}


def test_a_store_purchase_by_a_card_only_the_customer_asserted_leaves_the_cart_alone(shop: Shop) -> None:
    """A client write key's word never makes carts follow anyone: someone who typed another's loyalty card into
    their app does not get that person's store purchases applied to their cart, nor the reverse."""
    run = tag()
    customer = f"sub-{run}"
    card = f"LC-{run.upper()}"
    shop.identify(userId=customer, traits={"loyaltyCard": card, "phone": phone_number()})
    shop.track("Product Added", userId=customer, properties=coat())
    shop.settle()
    shop.sale("kadikoy", f"T-{run}", {"loyalty_card": card}, [("SKU-COAT", "2499.90")])
    shop.settle()
    assert lines(shop.my_cart(customer)) == {"SKU-COAT": 1}
