"""No update is ever lost: interleaved writers from three devices of one customer, against moto.

- Hypothesis draws the operations of three devices (phone and laptop by their anonymous ids, now pointers to the
  customer's cart, and the customer's own key) and an interleaving of their DynamoDB calls. The final cart must be
  the cart that applying the same operations one after another, in the order their writes succeeded, gives: every
  operation counted exactly once, none lost to a concurrent writer.
- Free-running threads against moto: every add lands.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from carts.logic.cart import Cart, Limits, Line, OwnerKind, add_line, cart_key, remove_product
from carts.logic.cart_service import CartRules
from carts.logic.ports import CartStore, CartWrite
from tests.support.carts_harness import Clock, build_harness, carts_table, login
from tests.support.moto_tables import atomic_moto_dynamodb
from tests.support.property_strength import examples

CUSTOMER = "cus-42"
DEVICES = (
    cart_key(OwnerKind.ANONYMOUS_ID, "anon-phone-0001"),
    cart_key(OwnerKind.ANONYMOUS_ID, "anon-laptop-0002"),
    cart_key(OwnerKind.USER_ID, CUSTOMER),
)
PRICES = {"A": Decimal("10.00"), "B": Decimal("2.50"), "C": Decimal("99.90")}
LIMITS = Limits(max_line_quantity=6, max_lines=10)


@dataclass(frozen=True)
class Op:
    kind: str  # add | remove
    product: str
    quantity: int | None


def apply(cart: Cart, op: Op, at: datetime) -> Cart:
    if op.kind == "add":
        line = Line(product_id=op.product, quantity=op.quantity or 1, unit_price=PRICES[op.product])
        return add_line(cart, line, LIMITS, at, "web", "TRY")
    return remove_product(cart, op.product, None, op.quantity, at, "web")


ops = st.builds(
    Op,
    kind=st.sampled_from(["add", "remove"]),
    product=st.sampled_from(sorted(PRICES)),
    quantity=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
).map(lambda op: replace(op, quantity=op.quantity or 1) if op.kind == "add" else op)


class Turnstile:
    """Lets one device thread at a time make its next DynamoDB call, in the order the test chooses."""

    def __init__(self, devices: int, choices: Sequence[int]) -> None:
        self._cond = threading.Condition()
        self._waiting: set[int] = set()
        self._done: set[int] = set()
        self._granted: int | None = None
        self._devices = devices
        self._choices = list(choices)

    def wait_turn(self, device: int) -> None:
        with self._cond:
            self._waiting.add(device)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._granted == device)
            self._granted = None
            self._waiting.discard(device)

    def finish(self, device: int) -> None:
        with self._cond:
            self._done.add(device)
            self._cond.notify_all()

    def run(self) -> None:
        step = 0
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._granted is None and len(self._waiting) + len(self._done) == self._devices
                )
                ready = sorted(self._waiting)
                if not ready:
                    return
                choice = self._choices[step] if step < len(self._choices) else 0
                self._granted = ready[choice % len(ready)]
                step += 1
                self._cond.notify_all()


@dataclass
class GatedStore:
    """The real store; each call waits for the device's turn. Records which operation each write committed."""

    inner: CartStore
    turnstile: Turnstile
    committed: list[tuple[int, int]] = field(default_factory=list)  # (device, op index), in commit order
    local: threading.local = field(default_factory=threading.local)

    def load(self, key: str) -> Cart:
        self.turnstile.wait_turn(self.local.device)
        return self.inner.load(key)

    def save(self, write: CartWrite) -> None:
        self.turnstile.wait_turn(self.local.device)
        self.inner.save(write)
        self.committed.append((self.local.device, self.local.op))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.property
@settings(
    max_examples=examples(40, quick=15),  # 40 in make deep
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    plans=st.lists(st.lists(ops, min_size=1, max_size=5), min_size=3, max_size=3),
    interleaving=st.lists(st.integers(min_value=0, max_value=2), max_size=60),
)
def test_any_interleaving_of_three_devices_converges_to_the_sequential_cart(
    plans: list[list[Op]], interleaving: list[int]
) -> None:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        table = carts_table(client)
        clock = Clock(tick=timedelta(milliseconds=1))
        harness = build_harness(client, table, CartRules(limits=LIMITS), clock)
        # Given the phone and the laptop logged in: their keys point to the customer's cart
        login(harness, "prof-42", CUSTOMER, "anon-phone-0001", "anon-laptop-0002")
        turnstile = Turnstile(len(DEVICES), interleaving)
        gated = GatedStore(harness.service.store, turnstile)
        harness.service.store = gated
        times: dict[tuple[int, int], datetime] = {}

        def device(index: int) -> None:
            gated.local.device = index
            try:
                for position, op in enumerate(plans[index]):
                    gated.local.op = position

                    def change(cart: Cart, op: Op = op, position: int = position) -> Cart:
                        at = clock()
                        times[(index, position)] = at
                        return apply(cart, op, at)

                    harness.service.mutate(DEVICES[index], change)
            finally:
                turnstile.finish(index)

        # When the three devices run their operations with their calls interleaved as drawn
        threads = [threading.Thread(target=device, args=(index,)) for index in range(len(DEVICES))]
        for thread in threads:
            thread.start()
        turnstile.run()
        for thread in threads:
            thread.join(timeout=30)
        harness.service.store = gated.inner

        # Then every operation committed exactly once
        assert sorted(gated.committed) == sorted((d, p) for d in range(3) for p in range(len(plans[d])))
        # And the cart is what applying them in commit order gives
        expected = Cart(key=DEVICES[2])
        for device_index, position in gated.committed:
            expected = apply(expected, plans[device_index][position], times[(device_index, position)])
        final = harness.service.resolve(DEVICES[0])
        assert final.key == DEVICES[2]
        assert final.lines == expected.lines
        assert final.version == expected.version


def test_free_running_writers_lose_nothing() -> None:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        # A retry budget no scheduling can run out of (the shipped 12 did on a loaded 2-core machine): this test is
        # about lost updates, not about the budget
        rules = CartRules(limits=Limits(max_line_quantity=1000), attempts=200)
        harness = build_harness(client, carts_table(client), rules)
        login(harness, "prof-42", CUSTOMER, "anon-phone-0001", "anon-laptop-0002")
        start = threading.Barrier(len(DEVICES))
        errors: list[BaseException] = []

        def writer(key: str) -> None:
            start.wait()
            try:
                for _ in range(15):
                    harness.service.mutate(
                        key,
                        lambda cart: add_line(
                            cart,
                            Line(product_id="A", quantity=1, unit_price=PRICES["A"]),
                            Limits(max_line_quantity=1000),
                            harness.clock(),
                            "app",
                            "TRY",
                        ),
                    )
            except BaseException as error:  # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(key,)) for key in DEVICES]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        cart = harness.service.resolve(DEVICES[2])
        assert [(line.product_id, line.quantity) for line in cart.lines] == [("A", 45)]
        assert cart.version == 45
