"""Online to store through the local runtime: stores and stock through the API, customers through the bus
(profiles resolves them), ``cart.abandoned`` on the bus; the offer function decides, the delivery function sends
to a local fake of the WhatsApp Cloud API, and the reserve-in-store code redeems at the store.

One clock for the outbound and handoff functions (``outbound.wiring`` / ``handoff.wiring.override``), so quiet
hours are tested at a chosen local
time and the deferred message goes out when the clock passes the window and the minute schedule fires.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, Channel, EventType, utc_iso
from omnichannel.cart_events import CARTS_SOURCE
from tests.e2e.test_cart_journey import TEMPLATE, settle
from tests.support.fake_whatsapp import fake_whatsapp
from tests.support.sqs_batches import sqs_batch
from tests.support.store_offer_runtime import HOME, ISTANBUL, MODA, StoreOfferRuntime, next_local

STORES = {
    "IST-MODA": MODA,  # ~3 km
    "IST-ATASEHIR": {"name": "Ataşehir", "lat": 40.9900, "lon": 29.1250},  # ~8 km
}
CLOCKED = {
    "OutboundOfferFunction": "outbound.wiring",
    "OutboundDeliveryFunction": "outbound.wiring",
    "OutboundRequestsFunction": "outbound.wiring",
    "HandoffApiFunction": "handoff.wiring",
    "HandoffEventsFunction": "handoff.wiring",
}


class Journey(StoreOfferRuntime):
    def customer(self, user_id: str, wa_id: str, **traits: Any) -> str:
        """A profile with a WhatsApp number and these traits (an identify event through profiles)."""
        detail = captured(
            Channel.APP, {"user_id": user_id, "whatsapp": wa_id, "phone": f"+{wa_id}"}, type_=EventType.IDENTIFY
        )
        detail["traits"] = traits
        return self.identified(user_id, detail)

    def abandon(self, profile_id: str, cart_id: str, lines: list[tuple[str, int]], *, times: int = 1) -> str:
        """Put the same ``cart.abandoned`` on the bus ``times`` times (at-least-once delivery)."""
        event_id = str(uuid.uuid4())
        detail = {
            "event_id": event_id,
            "occurred_at": utc_iso(self.clock[0]),
            "cart_id": cart_id,
            "profile_id": profile_id,
            "episode": 1,
            "lines": [
                {
                    "product_id": f"P-{sku}",
                    "sku": sku,
                    "name": sku.title(),
                    "quantity": quantity,
                    "unit_price": "1299.90",
                    "currency": "TRY",
                }
                for sku, quantity in lines
            ],
            "value": "1299.90",
            "currency": "TRY",
            "last_channel": "web",
            "last_activity_at": utc_iso(self.clock[0] - timedelta(hours=2)),
        }
        for _ in range(times):
            self.rt.put_event("cart.abandoned", detail, source=CARTS_SOURCE)
            settle(self.rt)
        return event_id


def captured(channel: Channel, identifiers: dict[str, str], type_: EventType = EventType.TRACK, **props: Any):
    now = datetime.now(UTC)
    event = CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "source": channel.value,
            "type": type_,
            "name": "Message Received" if type_ is EventType.TRACK else None,
            "channel": channel,
            "identifiers": identifiers,
            "occurred_at": utc_iso(now),
            "received_at": utc_iso(now),
            "provenance": "verified",  # the channel's signed webhook, as capture stamps it
            "properties": props,
        }
    )
    return event.to_bus_detail()


@pytest.fixture
def journey() -> Iterator[Journey]:
    with (
        fake_whatsapp() as whatsapp,
        LocalRuntime.start(TEMPLATE, mode="inprocess", parameters={"WhatsAppApiBaseUrl": whatsapp.url}) as rt,
    ):
        clock = [next_local(12)]
        for function_id, module in CLOCKED.items():
            rt.function_module(function_id, module).override(clock=lambda: clock[0])
        journey = Journey(rt, whatsapp, clock)
        admin = journey.headers("admin")
        for store_id, body in STORES.items():
            answer = rt.request("PUT", f"/handoff/stores/{store_id}", headers=admin, body=body)
            assert answer.status == 201, answer.body
        stocked = rt.request(
            "POST",
            "/handoff/stores/IST-MODA/inventory",
            headers=admin,
            body={"items": [{"sku": "COAT", "quantity": 2}, {"sku": "SCARF", "quantity": 5}]},
        )
        assert stocked.status == 200, stocked.body
        put = rt.request("PUT", "/handoff/stores/IST-ATASEHIR/inventory/COAT", headers=admin, body={"quantity": 9})
        assert put.status == 200, put.body
        yield journey


def test_the_store_api_finds_stores_near_a_point(journey: Journey) -> None:
    answer = journey.rt.request(
        "GET", "/handoff/stores", query={**HOME, "radius_km": 10}, headers=journey.headers("agent")
    )
    assert answer.status == 200, answer.body
    stores = answer.json()["stores"]
    assert [store["store_id"] for store in stores] == ["IST-MODA", "IST-ATASEHIR"]
    assert 2.5 < stores[0]["distance_km"] < 3.5
    assert 7.5 < stores[1]["distance_km"] < 8.5
    # And a customer may not write stores, an agent may not either
    refused = journey.rt.request("PUT", "/handoff/stores/X", headers=journey.headers("agent"), body=STORES["IST-MODA"])
    assert refused.status == 403
    bad = journey.rt.request(
        "PUT", "/handoff/stores/X", headers=journey.headers("admin"), body={**STORES["IST-MODA"], "lat": 123}
    )
    assert bad.status == 400
    assert bad.json()["errors"][0]["field"] == "lat"


def test_an_abandoned_cart_in_stock_3_km_away_gets_one_whatsapp_message_with_a_code_that_redeems(
    journey: Journey,
) -> None:
    # Given a customer near Moda who opted in to WhatsApp
    profile_id = journey.customer("cus_offer_1", "905321110001", consent={"whatsapp": True}, last_location=HOME)

    # When their cart (a coat and two scarves) is abandoned, and cart.abandoned is delivered twice
    journey.abandon(profile_id, "cart-1", [("COAT", 1), ("SCARF", 2)], times=2)

    # Then exactly one WhatsApp message went out, to their number, offering Moda (3 km) with a code
    assert len(journey.whatsapp.delivered) == 1
    sent = journey.whatsapp.delivered[0]
    assert sent.authorization == "Bearer dev-whatsapp-token"
    assert sent.body["to"] == "905321110001"
    parameters = [p["text"] for p in sent.body["template"]["components"][0]["parameters"]]
    assert "Moda" in parameters
    decision = journey.decision("cart-1")
    assert decision["outcome"] == "sent"
    assert decision["store_id"] == "IST-MODA"
    assert 2.5 < float(decision["distance_km"]) < 3.5
    code = decision["ticket_code"]
    assert f"{code[:4]}-{code[4:]}" in parameters
    outbox = journey.outbox(decision["message_id"])
    assert (outbox["state"], outbox["provider_id"]) == ("sent", sent.message_id)
    # And message.requested / message.sent are on the bus once each
    log = journey.rt.bus_log()
    assert [entry["detail-type"] for entry in log].count("cart.abandoned") == 2
    names = [entry["detail-type"] for entry in log if entry["source"] == "omnichannel.handoff"]
    assert (names.count("handoff.created"), names.count("message.requested"), names.count("message.sent")) == (1, 1, 1)
    # And it went through the abandoned-cart journey: one run, one offer asked of handoff, the stock held until the
    # ticket ends
    asked = [e for e in log if e["source"] == "omnichannel.journeys" and e["detail-type"] == "store_offer.requested"]
    assert {e["detail"]["event_id"] for e in asked} == {asked[0]["detail"]["event_id"]}
    assert asked[0]["detail"]["journey_id"] == "abandoned_cart_store_offer"
    holds = journey.rt.client("dynamodb").query(
        TableName=journey.rt.table_name("OutboundTable"),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
        ExpressionAttributeValues={":pk": {"S": "STORE#IST-MODA"}, ":hold": {"S": f"HOLD#{code}#"}},
    )["Items"]
    assert sorted((h["sku"]["S"], h["quantity"]["N"]) for h in holds) == [("COAT", "1"), ("SCARF", "2")]

    # When the clerk at Moda redeems the code from the customer's phone
    clerk = journey.headers("agent")
    redeemed = journey.rt.request(
        "POST", f"/handoff/tickets/{code}/redeem", headers=clerk, body={"channel": "store", "store_id": "IST-MODA"}
    )

    # Then it is a reserve-in-store ticket for that customer and store, and it works once
    assert redeemed.status == 200, redeemed.body
    ticket = redeemed.json()["ticket"]
    assert (ticket["purpose"], ticket["store_id"], ticket["profile_id"]) == ("reserve_in_store", "IST-MODA", profile_id)
    assert [line["sku"] for line in ticket["cart_snapshot"]["lines"]] == ["COAT", "SCARF"]
    again = journey.rt.request("POST", f"/handoff/tickets/{code}/redeem", headers=clerk, body={"channel": "store"})
    assert again.status == 410
    # And the stock it held is free again once handoff.accepted reaches outbound: the customer came for it
    settle(journey.rt)
    left = journey.rt.client("dynamodb").query(
        TableName=journey.rt.table_name("OutboundTable"),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
        ExpressionAttributeValues={":pk": {"S": "STORE#IST-MODA"}, ":hold": {"S": f"HOLD#{code}#"}},
    )["Items"]
    assert left == []

    # And the agent context reports the consent the offer relied on, and WhatsApp as the way to reach them
    context = journey.rt.request("GET", f"/handoff/customers/{profile_id}/context", headers=clerk).json()
    assert context["consent"] == {"whatsapp": "opted_in"}
    assert context["reachable_channels"] == ["whatsapp"]


def test_an_opted_out_customer_gets_nothing_and_the_reason_is_recorded(journey: Journey) -> None:
    # Given a customer who opted in, then wrote STOP on WhatsApp
    profile_id = journey.customer("cus_offer_2", "905321110002", consent={"whatsapp": True}, last_location=HOME)
    stop = captured(Channel.WHATSAPP, {"whatsapp": "905321110002"}, text="STOP")
    journey.rt.put_event("Message Received", stop, source=CAPTURE_SOURCE)
    settle(journey.rt)

    # When their cart is abandoned
    journey.abandon(profile_id, "cart-2", [("COAT", 1)])

    # Then no message, and the decision says why
    assert journey.whatsapp.requests == []
    decision = journey.decision("cart-2")
    assert decision["outcome"] == "no_consent"
    assert "whatsapp" in decision["reason"]
    assert "message_id" not in decision
    # And the agent context shows the newer STOP, not the older opt-in trait: nothing can be sent to them
    context = journey.rt.request(
        "GET", f"/handoff/customers/{profile_id}/context", headers=journey.headers("agent")
    ).json()
    assert context["consent"] == {"whatsapp": "opted_out"}
    assert context["reachable_channels"] == []


def test_out_of_stock_nearby_means_no_message(journey: Journey) -> None:
    # Given a consenting customer whose cart has three coats: Moda has 2, Ataşehir (8 km) is beyond 5 km
    profile_id = journey.customer("cus_offer_3", "905321110003", consent={"whatsapp": True}, last_location=HOME)

    # When the cart is abandoned
    journey.abandon(profile_id, "cart-3", [("COAT", 3)])

    # Then nothing is sent, and the decision is no_stock
    assert journey.whatsapp.requests == []
    assert journey.decision("cart-3")["outcome"] == "no_stock"


def test_quiet_hours_defer_the_message_until_the_window_ends(journey: Journey) -> None:
    # Given a consenting customer whose home store is Moda, and 22:00 in Istanbul
    profile_id = journey.customer(
        "cus_offer_4", "905321110004", consent={"whatsapp": True}, home_store_id="IST-MODA", time_zone="Europe/Istanbul"
    )
    journey.clock[0] = next_local(22)

    # And a second customer of Moda who wants a coat
    second = journey.customer(
        "cus_offer_5", "905321110005", consent={"whatsapp": True}, home_store_id="IST-MODA", time_zone="Europe/Istanbul"
    )

    # When their carts are abandoned
    journey.abandon(profile_id, "cart-4", [("SCARF", 1)])
    journey.abandon(second, "cart-5", [("COAT", 1)])

    # Then the offers are deferred to 09:00 local, nothing is sent, and the minute schedule leaves them alone
    decision = journey.decision("cart-4")
    assert decision["outcome"] == "deferred"
    assert journey.decision("cart-5")["outcome"] == "deferred"
    morning = (journey.clock[0].astimezone(ISTANBUL) + timedelta(days=1)).replace(hour=9, minute=0)
    assert decision["send_at"] == utc_iso(morning)
    assert float(decision["distance_km"]) == 0  # the home store itself
    journey.rt.fire_schedule("OutboundDeliveryFunction")
    assert journey.whatsapp.requests == []

    # When Moda sells its coats during the night
    journey.clock[0] += timedelta(hours=4)
    sold = journey.rt.request(
        "PUT", "/handoff/stores/IST-MODA/inventory/COAT", headers=journey.headers("admin"), body={"quantity": 0}
    )
    assert sold.status == 200, sold.body

    # And the clock passes 09:00 and the schedule fires
    journey.clock[0] = morning.astimezone(UTC) + timedelta(seconds=30)
    journey.rt.fire_schedule("OutboundDeliveryFunction")

    # Then the scarf offer goes out once, and the coat offer not at all: the store no longer has the coat
    journey.rt.fire_schedule("OutboundDeliveryFunction")
    assert len(journey.whatsapp.delivered) == 1
    assert journey.whatsapp.delivered[0].body["to"] == "905321110004"
    assert journey.outbox(decision["message_id"])["state"] == "sent"
    coat = journey.decision("cart-5")
    assert (coat["outcome"], coat["reason"]) == ("cancelled", "no_stock")
    assert journey.outbox(coat["message_id"])["state"] == "cancelled"


def test_the_message_requested_sample_is_sent_once_however_often_it_is_delivered(journey: Journey) -> None:
    # Given the events/handoff sample of a message request (what sam local invoke -e would send)
    import json
    from pathlib import Path

    sample = json.loads((Path(TEMPLATE).parent / "events/handoff/message_requested.json").read_text(encoding="utf-8"))

    # When the delivery function's queue hands it over twice (two SQS batches)
    first = journey.rt.invoke("OutboundRequestsFunction", sqs_batch([sample]))
    second = journey.rt.invoke("OutboundRequestsFunction", sqs_batch([sample]))

    # Then both batches succeeded, the message is sent, and the Cloud API got it once, with the sample's code
    assert first == second == {"batchItemFailures": []}
    assert journey.outbox(sample["detail"]["message_id"])["state"] == "sent"
    assert len(journey.whatsapp.delivered) == 1
    sent = journey.whatsapp.delivered[0].body
    assert sent["to"] == "905321234567"
    assert "QW4R-T8YP" in [p["text"] for p in sent["template"]["components"][0]["parameters"]]
