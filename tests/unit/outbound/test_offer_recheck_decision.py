"""The pure last look before a store offer goes out: cart bought, cart changed, stock gone, all fine; and the
precondition leaving every other message alone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnichannel.handoff_events import OutboundChannel
from outbound.delivery.message import OutboundMessage
from outbound.store_offers.offer_recheck import (
    CancelReason,
    CartFacts,
    OfferFacts,
    OfferRecheck,
    cancel_reason,
    snapshot_of,
)
from outbound.store_offers.offer_service import OFFER_REASON
from outbound.store_offers.offer_ticket import OfferTicket
from outbound.store_offers.store_offer import Line

T0 = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
LINES = [Line("COAT", 1), Line("SCARF", 2)]
STOCKED = {"COAT": 2, "SCARF": 5}
ABANDONED = CartFacts(
    abandoned_episodes=1,
    recovered_episodes=0,
    abandoned_at="2026-06-10T19:00:00.000000Z",
    lines={"COAT": 1, "SCARF": 2},
)


def facts(cart: CartFacts | None = ABANDONED, stock: dict[str, int] | None = None, episode: int = 1) -> OfferFacts:
    return OfferFacts(episode=episode, lines=LINES, stock=STOCKED if stock is None else stock, cart=cart)


def changed(**fields: Any) -> CartFacts:
    return replace(ABANDONED, **fields)


def test_an_abandoned_cart_with_the_store_still_stocked_sends() -> None:
    assert cancel_reason(facts()) is None


def test_activity_that_keeps_the_offered_lines_sends() -> None:
    # A line added, or more of an offered line: the offer still holds
    assert cancel_reason(facts(changed(lines={"COAT": 2, "SCARF": 2, "HAT": 1}))) is None


@pytest.mark.parametrize(
    "cart",
    [
        changed(recovered_episodes=1),  # an Order Completed after the abandonment recovered the episode
        changed(closed_at="2026-06-10T20:00:00.000000Z", lines={}),  # closed by an order after it was abandoned
        changed(abandoned_episodes=2, recovered_episodes=2),  # bought, then abandoned again
    ],
)
def test_a_bought_cart_cancels_as_cart_bought(cart: CartFacts) -> None:
    assert cancel_reason(facts(cart)) is CancelReason.CART_BOUGHT


def test_a_close_before_the_abandonment_is_not_a_purchase_of_it() -> None:
    earlier_order = changed(closed_at="2026-06-09T12:00:00.000000Z")
    assert cancel_reason(facts(earlier_order)) is None


@pytest.mark.parametrize(
    "cart",
    [
        changed(lines={"COAT": 1}),  # the scarves were removed
        changed(lines={"COAT": 1, "SCARF": 1}),  # fewer scarves
        changed(lines={}),  # emptied without an order
        changed(pointer=True),  # moved into another cart (a login or a profile merge)
        changed(abandoned_episodes=2),  # the customer came back; a newer episode has its own decision
    ],
)
def test_a_changed_cart_cancels_as_cart_changed(cart: CartFacts) -> None:
    assert cancel_reason(facts(cart)) is CancelReason.CART_CHANGED


@pytest.mark.parametrize("stock", [{"COAT": 2, "SCARF": 1}, {"SCARF": 5}, {"COAT": 0, "SCARF": 5}, {}])
def test_a_store_short_of_any_line_cancels_as_no_stock(stock: dict[str, int]) -> None:
    assert cancel_reason(facts(stock=stock)) is CancelReason.NO_STOCK


def test_a_bought_cart_is_the_reason_even_when_the_store_sold_out() -> None:
    assert cancel_reason(facts(changed(recovered_episodes=1), stock={})) is CancelReason.CART_BOUGHT


def test_a_cart_that_cannot_be_found_leaves_only_the_stock_to_check() -> None:
    assert cancel_reason(facts(None)) is None
    assert cancel_reason(facts(None, stock={"COAT": 2})) is CancelReason.NO_STOCK


def ticket(snapshot: dict[str, Any] | None) -> OfferTicket:
    return OfferTicket(
        code="7K4MQ2ZD",
        profile_id="p-1",
        from_channel="web",
        reason=OFFER_REASON,
        created_at=T0,
        expires_at=T0 + timedelta(hours=48),
        store_id="IST-MODA",
        cart_snapshot=snapshot or {},
    )


def test_the_ticket_snapshot_names_the_cart_episode_and_lines() -> None:
    snapshot = {"cart_id": "c-1", "episode": 3, "lines": [{"sku": "COAT", "name": "Coat", "quantity": 2}]}
    assert snapshot_of(ticket(snapshot)) == ("c-1", 3, [Line("COAT", 2)])
    assert snapshot_of(ticket(None)) is None
    assert snapshot_of(ticket({"cart_id": "c-1", "episode": "two"})) is None


@dataclass
class Fakes:
    tickets: dict[str, OfferTicket] = field(default_factory=dict)
    cart: CartFacts | None = ABANDONED
    stock: dict[str, int] = field(default_factory=lambda: dict(STOCKED))
    reads: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    recorded: list[tuple[str, int, str, str]] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)

    def get(self, code: str, at: datetime | None = None) -> OfferTicket | None:
        self.reads.append("ticket")
        return self.tickets.get(code)

    def void(self, code: str, at: datetime, reason: str = "cancelled") -> bool:
        self.voided.append(code)
        return True

    def cart_episode(self, profile_id: str, cart_id: str) -> CartFacts | None:
        self.reads.append("cart")
        return self.cart

    def stock_of(self, store_ids: Any, skus: Any) -> dict[str, dict[str, int]]:
        self.reads.append("stock")
        return {"IST-MODA": self.stock}

    def mark_cancelled(self, cart_id: str, episode: int, message_id: str, reason: str, at: str) -> bool:
        self.recorded.append((cart_id, episode, message_id, reason))
        return True


class _Stock:
    def __init__(self, fakes: Fakes) -> None:
        self.fakes = fakes

    def stock(self, store_ids: Any, skus: Any) -> dict[str, dict[str, int]]:
        return self.fakes.stock_of(store_ids, skus)

    def release(self, store_id: str, ticket_code: str) -> int:
        self.fakes.released.append((store_id, ticket_code))
        return 1


def recheck(fakes: Fakes) -> OfferRecheck:
    return OfferRecheck(
        tickets=fakes,
        carts=fakes,
        stock=_Stock(fakes),
        offers=fakes,
        clock=lambda: T0,
        offer_reason=OFFER_REASON,
    )


def message(reason: str = OFFER_REASON) -> OutboundMessage:
    return OutboundMessage(
        message_id="m-1",
        profile_id="p-1",
        channel=OutboundChannel.WHATSAPP,
        to="+905320000001",
        template="reserve_in_store",
        reason=reason,
        ticket_code="7K4MQ2ZD",
    )


def test_messages_that_are_not_store_offers_pass_without_a_read() -> None:
    fakes = Fakes(cart=changed(recovered_episodes=1))
    assert recheck(fakes)(message(reason="agent_follow_up")) is None
    assert fakes.reads == []


def test_a_store_offer_reads_its_ticket_cart_and_stock_once_each_and_cancels_with_the_reason() -> None:
    fakes = Fakes(cart=changed(recovered_episodes=1))
    fakes.tickets["7K4MQ2ZD"] = ticket({"cart_id": "c-1", "episode": 1, "lines": [{"sku": "COAT", "quantity": 1}]})
    check = recheck(fakes)

    reason = check(message())

    assert reason == "cart_bought"
    assert sorted(fakes.reads) == ["cart", "stock", "ticket"]
    check.cancelled(message(), reason)
    assert fakes.voided == ["7K4MQ2ZD"]
    assert fakes.recorded == [("c-1", 1, "m-1", "cart_bought")]
    # And the stock the offer held in the store is free again
    assert fakes.released == [("IST-MODA", "7K4MQ2ZD")]


def test_a_store_offer_whose_ticket_is_gone_is_left_to_send() -> None:
    assert recheck(Fakes(cart=changed(recovered_episodes=1)))(message()) is None
