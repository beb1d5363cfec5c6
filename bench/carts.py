"""Carts benchmark: DynamoDB calls per cart operation, and what one abandonment sweep costs over many carts.

    .venv/bin/python bench/carts.py [--carts 10000] [--due 10]

Counts are of the calls the code makes (botocore's before-call hook) against moto, so they are exact and do not
drift with the machine; the items a sweep reads come from the answers themselves.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda, a quiet offline environment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "carts"))

import boto3
from moto import mock_aws

from carts.dal.cart_store import DynamoDBCartStore, cart_item
from carts.logic.abandonment import sweep
from carts.logic.cart import Cart, Line, OwnerKind, add_line, cart_key, remove_line, set_quantity
from carts.logic.cart_service import CartRules, CartService
from carts.logic.commerce_events import apply_event
from carts.logic.ports import CartWrite
from carts.logic.profile_sync import ProfileSync
from carts.logic.sign_in import sign_in
from omnichannel.canonical_event import Channel
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import ProfileCreated
from tests.support.carts_harness import T0, Clock, carts_table, commerce_event, product


class CallCounter:
    def __init__(self, client: Any) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.items_read = 0
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _after(self, model: Any, parsed: Any, **_: Any) -> None:
        if model.name == "GetItem" and "Item" in parsed:
            self.items_read += 1
        elif model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif model.name == "BatchGetItem":
            self.items_read += sum(len(items) for items in parsed.get("Responses", {}).values())

    def measure(self, action: Any) -> tuple[collections.Counter[str], int]:
        self.calls.clear()
        self.items_read = 0
        action()
        return collections.Counter(self.calls), self.items_read


def _row(name: str, calls: collections.Counter[str], items: int | None = None) -> str:
    reads = sum(calls[op] for op in ("GetItem", "BatchGetItem", "Query", "Scan"))
    writes = sum(calls[op] for op in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"))
    detail = ", ".join(f"{op} {count}" for op, count in sorted(calls.items()))
    extra = f"  items read {items}" if items is not None else ""
    return f"  {name:<48} reads {reads}  writes {writes}   ({detail}){extra}"


def operations(client: Any, table: str) -> None:
    clock = Clock(tick=timedelta(seconds=1))
    rules = CartRules()
    service = CartService(DynamoDBCartStore(client, table), InMemoryPublisher(), clock, rules)
    counter = CallCounter(client)
    user = cart_key(OwnerKind.USER_ID, "cus-bench")
    coat = Line(product_id="P-COAT", quantity=1, unit_price=Decimal("1299.90"))

    def add(key: str, line: Line = coat) -> Any:
        return lambda: service.mutate(key, lambda cart: add_line(cart, line, rules.limits, clock(), None, "TRY"))

    print("DynamoDB calls per cart operation (target: one read and one write)")
    print(_row("API add, new cart (token)", counter.measure(add(user))[0]))
    print(_row("API add, existing cart (token)", counter.measure(add(user))[0]))
    line_id = coat.line_id
    change = lambda: service.mutate(  # noqa: E731
        user, lambda cart: set_quantity(cart, line_id, 3, rules.limits, clock(), None)
    )
    print(_row("API change quantity", counter.measure(change)[0]))
    print(
        _row(
            "API remove line",
            counter.measure(lambda: service.mutate(user, lambda c: remove_line(c, line_id, clock(), None)))[0],
        )
    )
    print(_row("API read", counter.measure(lambda: service.resolve(user))[0]))
    event = commerce_event("Product Added", product("P-HAT"), anonymous_id="anon-bench-phone", at=T0)
    print(_row("Product Added event (anonymous device)", counter.measure(lambda: apply_event(service, event))[0]))
    print(_row("same event redelivered (deduplicated)", counter.measure(lambda: apply_event(service, event))[0]))
    login = ProfileCreated(
        event_id="bench-login",
        occurred_at=T0,
        profile_id="prof-bench",
        identifiers={"user_id": ["cus-bench"], "anonymous_id": ["anon-bench-phone"]},
        verified_identifiers={"loyalty_card": ["LC-BENCH"]},
    )
    calls, items = counter.measure(lambda: ProfileSync(service).created(login))
    print(_row("profile.created (record, name the cart, learn a link)", calls, items))
    calls, items = counter.measure(lambda: ProfileSync(service).created(login))
    print(_row("the same profile.created redelivered", calls, items))
    plain = login.model_copy(update={"event_id": "bench-login-2", "profile_id": "prof-2", "verified_identifiers": {}})
    plain = plain.model_copy(update={"identifiers": {"user_id": ["cus-bench-2"]}})
    calls, items = counter.measure(lambda: ProfileSync(service).created(plain))
    print(_row("profile.created without verified links", calls, items))
    calls, items = counter.measure(lambda: sign_in(service, "cus-bench", "anon-bench-phone"))
    print(_row("sign-in merge of a device's cart (POST /carts/me/merge)", calls, items))
    calls, items = counter.measure(lambda: sign_in(service, "cus-bench", "anon-bench-phone"))
    print(_row("the same sign-in again (nothing to merge)", calls, items))
    later = commerce_event("Product Added", product("P-BAG"), anonymous_id="anon-bench-phone", at=T0)
    print(
        _row("Product Added from a signed-in device's anon id", counter.measure(lambda: apply_event(service, later))[0])
    )
    print("    (the anonymous key is a pointer to the customer's cart: one extra read; events that carry the")
    print("     userId, and token calls, reach the cart in one read)")
    store_sale = commerce_event(
        "Order Completed", {"products": [{"product_id": "P-BAG"}]}, at=T0, channel=Channel.STORE
    )
    store_sale = store_sale.model_copy(update={"identifiers": {IdentifierType.LOYALTY_CARD: "LC-BENCH"}})
    print(
        _row(
            "store purchase by loyalty card (cart follows the customer)",
            counter.measure(lambda: apply_event(service, store_sale))[0],
        )
    )


def sweep_cost(client: Any, table: str, carts: int, due: int) -> None:
    rules = CartRules()
    clock = Clock(moment=T0 + timedelta(hours=3))
    store = DynamoDBCartStore(client, table, due_shards=rules.due_shards)
    service = CartService(store, InMemoryPublisher(), clock, rules)
    started = time.perf_counter()
    line = Line(product_id="P-1", quantity=1, unit_price=Decimal("10"))
    batch: list[dict[str, Any]] = []
    for index in range(carts):
        is_due = index < due
        last = T0 if is_due else T0 + timedelta(hours=2, minutes=30)  # the others were active 30 minutes ago
        cart = add_line(
            Cart(key=cart_key(OwnerKind.ANONYMOUS_ID, f"anon-sweep-{index:06d}")),
            line,
            rules.limits,
            last,
            "web",
            "TRY",
        )
        write = CartWrite(
            cart=cart,
            expected_rev=None,
            due_at=last + rules.abandon_after,
            expires_at=None,
        )
        item = cart_item(write, rules.due_shards)
        batch.append({"PutRequest": {"Item": {k: v for k, v in _wire(item).items()}}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    seeded = time.perf_counter() - started
    counter = CallCounter(client)
    calls, items = counter.measure(lambda: _check(sweep(service), due))
    print()
    print(f"One abandonment sweep over {carts:,} carts with items, {due} of them due (seeded in {seeded:.1f} s)")
    print(_row("sweep", calls, items))
    print(f"    items read {items} of {carts:,} carts; {rules.due_shards} index queries (one per due shard),")
    print("    then per due cart one read and two writes (claim the episode, clear it once announced)")
    calls, items = counter.measure(lambda: _check(sweep(service), 0))
    print(_row("next sweep (nothing due)", calls, items))


def _check(result: Any, due: int) -> None:
    if len(result.announced) != due:
        raise SystemExit(f"expected {due} abandonments, got {len(result.announced)}")


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carts", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=10)
    args = parser.parse_args()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        operations(client, carts_table(client, "carts-ops"))
        sweep_cost(client, carts_table(client, "carts-sweep"), args.carts, args.due)


if __name__ == "__main__":
    main()
