"""Merging a profile's carts (pure): merge caps quantities, replace keeps the latest, the plan is deterministic
and a consolidated profile plans nothing."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from carts.logic.cart import Cart, Limits, Line, OwnerKind, cart_key
from carts.logic.cart_merge import home_key, plan_consolidation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOME = cart_key(OwnerKind.USER_ID, "cus-1")
LIMITS = Limits(max_line_quantity=5)


def _cart(key: str, minutes: int, *lines: tuple[str, int], currency: str = "TRY") -> Cart:
    return Cart(
        key=key,
        exists=True,
        rev=1,
        version=1,
        currency=currency,
        lines=tuple(Line(product_id=p, quantity=q, unit_price=Decimal("10")) for p, q in lines),
        last_activity_at=T0 + timedelta(minutes=minutes),
    )


PHONE = _cart(cart_key(OwnerKind.ANONYMOUS_ID, "a-phone"), 1, ("A", 4), ("B", 1))
LAPTOP = _cart(cart_key(OwnerKind.ANONYMOUS_ID, "a-laptop"), 2, ("A", 3), ("C", 1))


def test_home_is_the_smallest_user_id_else_the_smallest_anonymous_id() -> None:
    assert home_key({("anonymous_id", "a"), ("user_id", "u2"), ("user_id", "u1")}) == cart_key("user_id", "u1")
    assert home_key({("anonymous_id", "b"), ("anonymous_id", "a"), ("email", "x@y.z")}) == cart_key("anonymous_id", "a")
    assert home_key({("email", "x@y.z")}) is None


def test_merge_adds_quantities_capped_and_is_order_independent() -> None:
    plans = [
        plan_consolidation(Cart(key=HOME), list(order), mode="merge", limits=LIMITS, profile_id="p")
        for order in itertools.permutations([PHONE, LAPTOP])
    ]
    lines = {(line.product_id, line.quantity) for line in plans[0].home.lines}
    assert lines == {("A", 5), ("B", 1), ("C", 1)}  # 4 + 3 capped at 5
    assert plans[0].home == plans[1].home
    assert {pointer.moved_to for pointer in plans[0].pointers} == {HOME}


def test_replace_keeps_the_latest_and_saves_the_other() -> None:
    plan = plan_consolidation(Cart(key=HOME), [PHONE, LAPTOP], mode="replace", limits=LIMITS, profile_id="p")
    assert plan.home.lines == LAPTOP.lines
    assert [saved.from_key for saved in plan.saved] == [PHONE.key]


def test_another_currency_is_saved_not_mixed() -> None:
    # Given an older cart in euros (the most recent, the phone's, is in lira)
    euro = _cart(cart_key(OwnerKind.ANONYMOUS_ID, "a-euro"), 0, ("Z", 1), currency="EUR")
    plan = plan_consolidation(Cart(key=HOME), [PHONE, euro], mode="merge", limits=LIMITS, profile_id="p")
    assert {line.product_id for line in plan.home.lines} == {"A", "B"}
    assert [saved.from_key for saved in plan.saved] == [euro.key]


def test_a_consolidated_profile_plans_nothing() -> None:
    plan = plan_consolidation(Cart(key=HOME), [PHONE, LAPTOP], mode="merge", limits=LIMITS, profile_id="p")
    home = replace(plan.home, exists=True, rev=1)
    pointers = [replace(pointer, rev=2) for pointer in plan.pointers]
    again = plan_consolidation(home, pointers, mode="merge", limits=LIMITS, profile_id="p")
    assert not again.changes_anything
