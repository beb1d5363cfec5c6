"""The last look before a deferred store offer goes out, through the local runtime on moto: a real cart (capture ->
carts), abandoned by the carts sweep, decided by the offer function inside quiet hours (deferred to 09:00), then
changed before 09:00: an ``Order Completed`` closes the cart, or the store sells out. The delivery worker's
minute schedule at 09:00 then sends nothing, ends the message ``cancelled`` with the reason, voids the ticket
(redeeming it answers 410 ``ticket_voided``) and records the reason on the decision. Nothing changed: one message.

One clock for the carts and handoff functions, so the cart's times and the quiet hours agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, Channel, EventType, utc_iso
from tests.e2e.test_cart_journey import TEMPLATE, settle
from tests.support.fake_whatsapp import fake_whatsapp
from tests.support.store_offer_runtime import HOME, ISTANBUL, MODA, StoreOfferRuntime, next_local

CLOCKED = {
    "OutboundOfferFunction": "outbound.wiring",
    "OutboundDeliveryFunction": "outbound.wiring",
    "OutboundRequestsFunction": "outbound.wiring",
    "HandoffApiFunction": "handoff.wiring",
    "OutboundStoresApiFunction": "outbound.wiring",
    "HandoffEventsFunction": "handoff.wiring",
    "CartsEventsFunction": "carts.wiring",
    "CartsAbandonmentFunction": "carts.wiring",
    "CartsApiFunction": "carts.wiring",
}
SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


class World(StoreOfferRuntime):
    def capture(self, user_id: str, type_: EventType, event: str | None = None, **properties: Any) -> dict[str, Any]:
        canonical = CanonicalEvent.model_validate(
            {
                "event_id": str(uuid.uuid4()),
                "message_id": str(uuid.uuid4()),
                "source": "web",
                "type": type_,
                "name": event,
                "channel": Channel.WEB,
                "identifiers": {"user_id": user_id},
                "occurred_at": utc_iso(self.clock[0]),
                "received_at": utc_iso(self.clock[0]),
                "properties": properties,
            }
        )
        return canonical.to_bus_detail()

    def customer(self, user_id: str, wa_id: str) -> str:
        detail = self.capture(user_id, EventType.IDENTIFY)
        detail["identifiers"] = {"user_id": user_id, "whatsapp": wa_id, "phone": f"+{wa_id}"}
        detail["traits"] = {"consent": {"whatsapp": True}, "last_location": HOME, "time_zone": "Europe/Istanbul"}
        return self.identified(user_id, detail)

    def track(self, user_id: str, event: str, **properties: Any) -> None:
        self.rt.put_event(event, self.capture(user_id, EventType.TRACK, event, **properties), source=CAPTURE_SOURCE)
        settle(self.rt)

    def deferred_offer(self, user_id: str, wa_id: str) -> dict[str, Any]:
        """A customer's cart (one coat) put together at 20:00, abandoned by the 22:00 sweep: an offer for 09:00."""
        self.customer(user_id, wa_id)
        self.clock[0] = next_local(20)
        self.track(
            user_id,
            "Product Added",
            product_id="P-COAT",
            sku="COAT",
            name="Coat",
            price="1299.90",
            quantity=1,
            currency="TRY",
        )
        self.clock[0] += timedelta(hours=2)
        self.rt.fire_schedule("CartsAbandonmentFunction")
        settle(self.rt)
        offers = [
            e
            for e in self.rt.bus_log()
            if e["detail-type"] == "cart.abandoned" and e["detail"].get("profile_id") is not None
        ]
        assert offers, "the carts sweep announced no abandoned cart"
        cart_id = offers[-1]["detail"]["cart_id"]
        decision = self.decision(cart_id)
        assert decision["outcome"] == "deferred", decision
        return decision

    def morning_sweep(self, decision: dict[str, Any]) -> list[list[str]]:
        """09:00:30 local: the minute schedule runs twice; what each run did."""
        self.clock[0] = datetime.fromisoformat(decision["send_at"]) + timedelta(seconds=30)
        runs = []
        for _ in range(2):
            answer = self.rt.invoke("OutboundDeliveryFunction", SCHEDULE)
            runs.append([attempt["outcome"] for attempt in answer["attempts"]])
        settle(self.rt)
        return runs

    def sent_events(self) -> int:
        return sum(e["detail-type"] == "message.sent" for e in self.rt.bus_log())


@pytest.fixture
def world() -> Iterator[World]:
    with (
        fake_whatsapp() as whatsapp,
        LocalRuntime.start(TEMPLATE, mode="inprocess", parameters={"WhatsAppApiBaseUrl": whatsapp.url}) as rt,
    ):
        clock = [next_local(12)]
        for function_id, module in CLOCKED.items():
            rt.function_module(function_id, module).override(clock=lambda: clock[0])
        world = World(rt, whatsapp, clock)
        admin = world.headers("admin")
        assert rt.request("PUT", "/handoff/stores/IST-MODA", headers=admin, body=MODA).status == 201
        put = rt.request("PUT", "/handoff/stores/IST-MODA/inventory/COAT", headers=admin, body={"quantity": 2})
        assert put.status == 200, put.body
        yield world


def test_an_order_before_nine_cancels_the_offer_and_voids_its_code(world: World) -> None:
    # Given an offer deferred to 09:00 for a cart abandoned at 22:00
    decision = world.deferred_offer("cus_recheck_1", "905321120001")
    assert datetime.fromisoformat(decision["send_at"]).astimezone(ISTANBUL).hour == 9

    # When the customer orders online at 23:00 (carts closes the cart: the episode is recovered)
    world.clock[0] += timedelta(hours=1)
    world.track("cus_recheck_1", "Order Completed", order_id="O-1", revenue="1299.90", currency="TRY")

    # Then at 09:00 nothing is sent, once however often the schedule runs
    assert world.morning_sweep(decision) == [["cancelled"], []]
    assert world.whatsapp.requests == []
    assert world.sent_events() == 0
    # And the message ended cancelled with the reason, the decision records it, the ticket is void
    outbox = world.outbox(decision["message_id"])
    assert (outbox["state"], outbox["last_error"], outbox["cancel_reason"]) == (
        "cancelled",
        "cart_bought",
        "cart_bought",
    )
    assert "due_pk" not in outbox
    after = world.decision(decision["cart_id"])
    assert (after["outcome"], after["reason"], after["send_at"]) == ("cancelled", "cart_bought", decision["send_at"])
    code = decision["ticket_code"]
    ticket = world.item("HandoffTable", f"TICKET#{code}", "TICKET")
    assert ticket["state"] == "voided"
    redeemed = world.rt.request(
        "POST", f"/handoff/tickets/{code}/redeem", headers=world.headers("agent"), body={"channel": "store"}
    )
    assert redeemed.status == 410, redeemed.body
    assert redeemed.json()["code"] == "ticket_voided"


def test_a_store_that_sold_out_before_nine_gets_no_customer(world: World) -> None:
    # Given an offer deferred to 09:00 for Moda's coat
    decision = world.deferred_offer("cus_recheck_2", "905321120002")

    # When Moda sells its last coats during the night (stock set to 0 through the stores API)
    world.clock[0] += timedelta(hours=3)
    zero = world.rt.request(
        "PUT", "/handoff/stores/IST-MODA/inventory/COAT", headers=world.headers("admin"), body={"quantity": 0}
    )
    assert zero.status == 200, zero.body

    # Then at 09:00 nothing goes out, the reason is no_stock everywhere it is recorded
    assert world.morning_sweep(decision) == [["cancelled"], []]
    assert world.whatsapp.requests == []
    assert world.sent_events() == 0
    assert world.outbox(decision["message_id"])["last_error"] == "no_stock"
    assert world.decision(decision["cart_id"])["reason"] == "no_stock"
    assert world.item("HandoffTable", f"TICKET#{decision['ticket_code']}", "TICKET")["state"] == "voided"


def test_nothing_changed_means_exactly_one_message_as_before(world: World) -> None:
    # Given an offer deferred to 09:00, and a night in which nothing happens to the cart or the store
    decision = world.deferred_offer("cus_recheck_3", "905321120003")

    # When the schedule runs at 09:00, twice
    runs = world.morning_sweep(decision)

    # Then one message went out, announced once; the decision and the ticket are as they were
    assert runs == [["sent"], []]
    assert len(world.whatsapp.delivered) == 1
    assert world.whatsapp.delivered[0].body["to"] == "905321120003"
    assert world.sent_events() == 1
    assert world.outbox(decision["message_id"])["state"] == "sent"
    assert world.decision(decision["cart_id"])["outcome"] == "deferred"
    assert world.item("HandoffTable", f"TICKET#{decision['ticket_code']}", "TICKET")["state"] == "open"
