"""Abandoned carts: a cart with items, idle past the configured time, with no order, is announced once per episode.

The sweep runs on a schedule. It never scans: it queries the sparse ``by_abandon_due`` index (only carts with a
due time are in it) for what is due by now, so its cost grows with the due carts, not with all carts. For each:

1. read the cart (consistent) and check it really is due (the index is eventually consistent);
2. *claim* the episode: ``abandoned_episodes + 1``, ``abandon_pending``, retry time; conditional on ``rev``;
3. publish ``cart.abandoned`` (id from the cart and the episode: a retry publishes the same id);
4. clear the pending mark (the cart leaves the index until its next activity).

A crash or a bus failure between 2 and 4 leaves the cart pending and due again at its retry time: the next sweep
publishes the same event again (consumers are idempotent on its id). A cart written in between (new activity,
an order) simply fails the condition and is looked at again when it is next due.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from carts.logic.cart import Cart, abandon_due_at, abandonment_announced, claim_abandonment, in_minor_units
from carts.logic.cart_service import CartService, anonymous_id_of, bus_event, cart_event_id, cart_lines, channel_of
from carts.logic.ports import WriteConflict
from omnichannel.cart_events import CartAbandoned, CartEventType
from omnichannel.event_bus import BusEvent


@dataclass
class SweepResult:
    due: int = 0
    announced: list[str] = field(default_factory=list)  # cart ids
    skipped: int = 0
    failed: list[str] = field(default_factory=list)  # cart ids whose announcement is pending


def abandoned_event(service: CartService, cart: Cart) -> BusEvent:
    rules = service.rules
    detail = CartAbandoned(
        event_id=cart_event_id(cart.cart_id, "abandoned", str(cart.abandoned_episodes)),
        occurred_at=cart.abandoned_at or service.clock(),
        cart_id=cart.cart_id,
        profile_id=cart.profile_id,
        anonymous_id=anonymous_id_of(cart),
        episode=cart.abandoned_episodes,
        lines=cart_lines(cart, rules.default_currency),
        value=in_minor_units(cart.value, cart.currency or rules.default_currency),
        currency=cart.currency or rules.default_currency,
        last_channel=channel_of(cart.last_channel),
        last_activity_at=cart.last_activity_at or service.clock(),
    )
    return bus_event(CartEventType.ABANDONED, detail.model_dump(mode="json"))


def sweep(service: CartService) -> SweepResult:
    """Announce every cart due by now (at most ``sweep_budget`` of them per run)."""
    rules = service.rules
    now = service.clock()
    result = SweepResult()
    claimed: list[tuple[Cart, BusEvent]] = []
    budget = rules.sweep_budget
    for shard in range(rules.due_shards):
        if budget <= 0:
            break
        keys = service.store.due_keys(shard, now, budget)
        budget -= len(keys)
        result.due += len(keys)
        for key in keys:
            cart = service.store.load(key)
            due = abandon_due_at(cart, rules.abandon_after)
            if due is None or due > now:
                result.skipped += 1  # the index lagged behind a write: not due after all
                continue
            current = cart if cart.abandon_pending else claim_abandonment(cart, now, rules.abandon_retry)
            write = service.write_of(current, cart)
            try:
                service.store.save(write)
            except WriteConflict:
                result.skipped += 1  # written in between: looked at again when next due
                continue
            claimed.append((write.cart, abandoned_event(service, write.cart)))
    failed = set(service.announce([event for _, event in claimed]))
    for cart, event in claimed:
        if event.event_id in failed:
            result.failed.append(cart.cart_id)  # stays pending: retried at abandon_retry_at
            continue
        # Written in between (activity, order)? Announced all the same: a pending mark left behind only makes a
        # later sweep publish the same event id again.
        with suppress(WriteConflict):
            service.store.save(service.write_of(abandonment_announced(cart), cart))
        result.announced.append(cart.cart_id)
    return result
