"""The online-to-store service on moto: the outbound, handoff and profiles tables as template.yaml defines them,
the real store catalog, offer store, offer tickets and outbox; handoff's real ticket store at the other end of
the bus (``relay``: outbound's stream asks, handoff stores the ticket; handoff's stream announces a redemption,
outbound ends the hold); an in-memory bus and a clock the test moves."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handoff.dal.ticket_store import TicketStore
from handoff.handlers import stream_handoff
from handoff.logic.tickets import ticket_from_request
from omnichannel.cart_events import CartAbandoned
from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.event_bus import BusEvent, InMemoryPublisher
from omnichannel.handoff_events import HandoffAccepted, handoff_event_id
from omnichannel.outbound_events import TicketRequested, TicketVoidRequested
from outbound.dal.customer_reader import CustomerReader
from outbound.dal.offer_store import CapChanged, OfferStore, TicketCodeTaken
from outbound.dal.offer_ticket_store import OfferTicketStore
from outbound.dal.outbox_store import OutboxStore
from outbound.dal.store_catalog import StoreCatalog
from outbound.handlers import stream_outbound
from outbound.store_offers.geo import Point
from outbound.store_offers.holds import release_redeemed
from outbound.store_offers.offer_service import OfferService
from outbound.store_offers.store_offer import Policy, Store
from tests.support.moto_tables import create_table, stream_records, table_properties

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul
MODA = Store("IST-MODA", "Moda", Point(41.0135, 29.0500), "Europe/Istanbul")


@dataclass
class Env:
    service: OfferService
    client: Any
    publisher: InMemoryPublisher
    clock: list[datetime]
    tickets: TicketStore  # handoff's: the ticket the customer redeems
    offer_tickets: OfferTicketStore  # outbound's copy
    outbox: OutboxStore
    offers: OfferStore
    relayed: dict[str, int]

    def _new_records(self, table: str) -> list[dict[str, Any]]:
        records = stream_records(self.client, table)
        fresh = records[self.relayed.get(table, 0) :]
        self.relayed[table] = len(records)
        return fresh

    def relay(self) -> list[BusEvent]:
        """What the two stream publishers announce, delivered to the other side as the bus rules route it:
        outbound's ticket requests to handoff's ticket store, handoff's redemptions to outbound's holds."""
        announced: list[BusEvent] = []
        for record in self._new_records("outbound"):
            image, old = record["dynamodb"]["NewImage"], record["dynamodb"].get("OldImage", {})
            for event in stream_outbound.announced(image, old):
                announced.append(event)
                if event.detail_type == "ticket.requested":
                    self.tickets.store_requested(ticket_from_request(TicketRequested.model_validate(event.detail)))
                elif event.detail_type == "ticket.void_requested":
                    self.tickets.void(TicketVoidRequested.model_validate(event.detail).code, self.clock[0])
        for record in self._new_records("handoff"):
            image, old = record["dynamodb"]["NewImage"], record["dynamodb"].get("OldImage", {})
            for event in stream_handoff.announced(image, old):
                announced.append(event)
                if event.detail_type == "handoff.accepted":
                    accepted = HandoffAccepted.model_validate(event.detail)
                    release_redeemed(accepted, self.offer_tickets, StoreCatalog(self.client, "outbound"))
        return announced

    def profile(self, profile_id: str, *, identifiers: dict[str, list[str]], **traits: Any) -> None:
        """The profile item as the profiles function stores it (traits stamped with a time)."""
        stamped = {
            name: {"v": json.dumps(value), "at": "2026-01-01T00:00:00.000Z", "e": "e-1", "c": "app"}
            for name, value in traits.items()
        }
        self.client.put_item(
            TableName="profiles",
            Item={
                "pk": {"S": f"PROFILE#{profile_id}"},
                "sk": {"S": "PROFILE"},
                "identifiers": {"M": {k: {"L": [{"S": v} for v in vs]} for k, vs in identifiers.items()}},
                "traits": {"S": json.dumps(stamped)},
            },
        )


def abandoned(cart_id: str, profile_id: str | None, *skus: str, anonymous_id: str | None = None) -> CartAbandoned:
    return CartAbandoned.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "occurred_at": T0,
            "cart_id": cart_id,
            "profile_id": profile_id,
            "anonymous_id": anonymous_id,
            "episode": 1,
            "lines": [
                {"product_id": sku, "sku": sku, "quantity": 1, "unit_price": "10.00", "currency": "TRY"} for sku in skus
            ],
            "value": "10.00",
            "currency": "TRY",
            "last_activity_at": T0 - timedelta(hours=1),
        }
    )


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, "outbound", table_properties("OutboundTable"))
        create_table(client, "handoff", table_properties("HandoffTable"))
        create_table(client, "profiles", table_properties("ProfilesTable"))
        clock = [T0]
        catalog = StoreCatalog(client, "outbound")
        catalog.put(MODA, "2026-01-01T00:00:00.000Z")
        catalog.set_quantities("IST-MODA", [("COAT", 2)], "2026-01-01T00:00:00.000Z")
        publisher = InMemoryPublisher()
        tickets = TicketStore("handoff", client, clock=lambda: clock[0])
        offer_tickets = OfferTicketStore(client, "outbound")
        outbox = OutboxStore(client, "outbound")
        offers = OfferStore(client, "outbound")
        service = OfferService(
            offers=offers,
            outbox=outbox,
            customers=CustomerReader(client, profiles_table="profiles", handoff_table="handoff"),
            catalog=catalog,
            tickets=offer_tickets,
            publisher=publisher,
            clock=lambda: clock[0],
            policy=Policy(
                radius_km=5,
                cap=FrequencyCap.parse("1/7d"),
                business_zone="Europe/Istanbul",
                quiet_hours=QuietHours.parse("21:00-09:00"),
            ),
            cap_changed=CapChanged,
            code_taken=TicketCodeTaken,
            sleep=lambda _seconds: None,
        )
        yield Env(service, client, publisher, clock, tickets, offer_tickets, outbox, offers, {})


def consenting(env: Env, profile_id: str, **traits: Any) -> None:
    env.profile(
        profile_id,
        identifiers={"user_id": [f"u-{profile_id}"], "whatsapp": ["905320000001"], "email": ["a@example.com"]},
        consent={"whatsapp": True},
        last_location={"lat": 40.99, "lon": 29.03},
        **traits,
    )


def test_an_offer_issues_a_ticket_queues_the_message_and_announces_both(env: Env) -> None:
    consenting(env, "p-1")

    handled = env.service.handle(abandoned("cart-1", "p-1", "COAT"))

    assert handled.outcome == "sent"
    assert handled.ticket_code is not None
    # handoff stores the ticket when outbound's stream asks for it (ticket.requested), under the message's code
    assert env.tickets.get(handled.ticket_code) is None
    relayed = env.relay()
    ticket = env.tickets.get(handled.ticket_code)
    assert ticket is not None
    assert (ticket.purpose.value, ticket.store_id, ticket.to_channel) == ("reserve_in_store", "IST-MODA", "store")
    assert ticket.expires_at == T0 + timedelta(hours=48)
    assert handled.message_id is not None
    message = env.outbox.get(handled.message_id)
    assert message is not None
    assert (message.channel.value, message.to) == ("whatsapp", "+905320000001")
    assert message.due_at == "2026-06-10T09:00:00.000Z"
    assert message.variables["code"] == f"{handled.ticket_code[:4]}-{handled.ticket_code[4:]}"
    # message.requested is published by the decision; ticket.requested is the offer ticket's own announcement
    # (outbound's stream), handoff.created the stored ticket's (handoff's stream)
    assert [event.detail_type for event in env.publisher.events] == ["message.requested"]
    assert [(event.detail_type, event.detail["code"]) for event in relayed] == [
        ("ticket.requested", handled.ticket_code),
        ("handoff.created", handled.ticket_code),
    ]
    # And a redelivered request stores nothing twice and announces nothing more
    [request] = [event for event in relayed if event.detail_type == "ticket.requested"]
    assert env.tickets.store_requested(ticket_from_request(TicketRequested.model_validate(request.detail))) is False
    assert env.relay() == []
    record = env.offers.get("cart-1", 1)
    assert record is not None
    assert record.published


def test_the_cap_allows_one_offer_a_week_per_profile(env: Env) -> None:
    consenting(env, "p-2")

    # Given an offer made for one cart, When another cart of the same customer is abandoned two days later
    assert env.service.handle(abandoned("cart-a", "p-2", "COAT")).outcome == "sent"
    env.clock[0] = T0 + timedelta(days=2)
    capped = env.service.handle(abandoned("cart-b", "p-2", "COAT"))

    # Then it is capped, with the reason; a week and a bit after the first, a third cart gets its offer
    assert capped.outcome == "capped"
    assert "1 offer(s)" in capped.reason
    env.clock[0] = T0 + timedelta(days=7, minutes=1)
    assert env.service.handle(abandoned("cart-c", "p-2", "COAT")).outcome == "sent"
    assert sum(event.detail_type == "message.requested" for event in env.publisher.events) == 2


def test_a_redelivery_after_a_lost_publish_publishes_once_and_tickets_nothing_new(env: Env) -> None:
    consenting(env, "p-3")
    event = abandoned("cart-3", "p-3", "COAT")

    # Given the bus refusing the first publish (the invocation fails and EventBridge retries)
    message_id = handoff_event_id("store-offer", "cart-3", "1")
    env.publisher.fail_ids = {handoff_event_id("message.requested", message_id)}
    with pytest.raises(RuntimeError, match="not published"):
        env.service.handle(event)

    # When the event is delivered again and the bus works
    env.publisher.fail_ids = set()
    again = env.service.handle(event)

    # Then the same decision is reported, its request published once, and no second ticket exists
    assert again.duplicate
    assert again.message_id == message_id
    assert [e.detail_type for e in env.publisher.events].count("message.requested") == 1
    env.relay()
    assert len(env.tickets.of_profile("p-3")) == 1
    # And a third delivery publishes nothing more
    env.service.handle(event)
    assert [e.detail_type for e in env.publisher.events].count("message.requested") == 1


def test_no_profile_and_no_location_are_recorded(env: Env) -> None:
    env.profile("p-4", identifiers={"whatsapp": ["905320000004"]}, consent={"whatsapp": "opted_in"})

    assert env.service.handle(abandoned("cart-anon", None, "COAT", anonymous_id="dev-1")).outcome == "no_profile"
    assert env.service.handle(abandoned("cart-4", "p-4", "COAT")).outcome == "no_location"
    record = env.offers.get("cart-4", 1)
    assert record is not None
    assert (record.outcome, record.message_id) == ("no_location", None)
    assert env.publisher.events == []


def test_an_unknown_home_store_falls_back_to_the_last_location(env: Env) -> None:
    consenting(env, "p-5", home_store_id="GONE")
    handled = env.service.handle(abandoned("cart-5", "p-5", "COAT"))
    assert handled.outcome == "sent"
    assert handled.decision is not None
    assert handled.decision.store == MODA


def test_erasure_deletes_decisions_caps_offer_tickets_and_messages(env: Env) -> None:
    consenting(env, "p-6")
    handled = env.service.handle(abandoned("cart-6", "p-6", "COAT"))
    assert handled.message_id is not None

    deleted = env.offers.erase_profile("p-6")

    assert deleted == 4  # decision, cap, offer ticket, outbox message
    assert handled.ticket_code is not None
    assert env.offer_tickets.get(handled.ticket_code) is None
    assert env.offers.get("cart-6", 1) is None
    assert env.outbox.get(handled.message_id) is None
    assert env.offers.cap("p-6").offered_at == ()


class _CapRace:
    """The offer store, except that the first sending write finds the cap moved (another cart's offer)."""

    def __init__(self, real: OfferStore) -> None:
        self.real = real
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def record(self, record, expires_at, **kwargs):
        if kwargs.get("cap") is not None and self.conflicts == 0:
            self.conflicts += 1
            raise CapChanged("the cap moved")
        return self.real.record(record, expires_at, **kwargs)


def test_a_cap_race_decides_again_with_the_same_ticket(env: Env) -> None:
    consenting(env, "p-7")
    race = _CapRace(env.offers)
    env.service.offers = race

    handled = env.service.handle(abandoned("cart-7", "p-7", "COAT"))

    assert race.conflicts == 1
    assert handled.outcome == "sent"
    env.relay()
    assert [ticket.code for ticket in env.tickets.of_profile("p-7")] == [handled.ticket_code]


def test_a_code_another_offer_ticket_holds_is_drawn_again(env: Env) -> None:
    # Given an offer ticket already holding the code the next offer draws first
    consenting(env, "p-8")
    codes = iter(["7K4MQ2ZD", "7K4MQ2ZD", "9XW3P4RT"])
    env.service.codes = lambda: next(codes)
    consenting(env, "p-9")
    first = env.service.handle(abandoned("cart-8", "p-8", "COAT"))

    # When a second offer draws the same code
    second = env.service.handle(abandoned("cart-9", "p-9", "COAT"))

    # Then it decided again with a fresh code: both offers go out, each with its own ticket
    assert (first.outcome, second.outcome) == ("sent", "sent")
    assert (first.ticket_code, second.ticket_code) == ("7K4MQ2ZD", "9XW3P4RT")


# ---------------------------------------------------------------------------------------------- stock held


def near_moda(env: Env, profile_id: str, whatsapp: str) -> None:
    env.profile(
        profile_id,
        identifiers={"user_id": [f"u-{profile_id}"], "whatsapp": [whatsapp]},
        consent={"whatsapp": True},
        last_location={"lat": 40.99, "lon": 29.03},
    )


def test_two_offers_for_the_last_coat_cannot_both_go_out(env: Env) -> None:
    # Given one coat left in Moda and two customers near it, each with the coat in an abandoned cart
    StoreCatalog(env.client, "outbound").set_quantities("IST-MODA", [("COAT", 1)], "2026-01-02T00:00:00.000Z")
    near_moda(env, "p-1", "905320000001")
    near_moda(env, "p-2", "905320000002")

    # When both carts are decided
    first = env.service.handle(abandoned("cart-1", "p-1", "COAT"))
    second = env.service.handle(abandoned("cart-2", "p-2", "COAT"))

    # Then only the first is promised the coat: it is held for them until their ticket ends
    assert (first.outcome, second.outcome) == ("sent", "no_stock")
    holds = StoreCatalog(env.client, "outbound").holds(["IST-MODA"], "2026-06-10T09:00:00.000Z")["IST-MODA"]
    assert dict(holds.held) == {"COAT": 1}


def test_of_two_offers_deciding_at_once_on_the_last_coat_one_decides_again(env: Env) -> None:
    # Given one coat left, and a catalog that lets a second decision finish while the first is still deciding
    catalog = StoreCatalog(env.client, "outbound")
    catalog.set_quantities("IST-MODA", [("COAT", 1)], "2026-01-02T00:00:00.000Z")
    near_moda(env, "p-1", "905320000001")
    near_moda(env, "p-2", "905320000002")
    outcomes: dict[str, str] = {}

    class Interleaving(StoreCatalog):
        reads = 0

        def holds(self, store_ids: Any, now: str) -> Any:
            read = super().holds(store_ids, now)
            Interleaving.reads += 1
            if Interleaving.reads == 1:  # the first decision has read the holds: the second one runs now
                outcomes["cart-2"] = env.service.handle(abandoned("cart-2", "p-2", "COAT")).outcome
            return read

    env.service.catalog = Interleaving(env.client, "outbound")

    # When the first decision goes on with what it read before
    outcomes["cart-1"] = env.service.handle(abandoned("cart-1", "p-1", "COAT")).outcome

    # Then the second one got the coat; the first found the holds changed, decided again and promised nothing
    assert outcomes == {"cart-2": "sent", "cart-1": "no_stock"}
    assert Interleaving.reads == 3  # first, second, and the first deciding again
    assert env.offers.get("cart-1", 1) is not None


def test_a_hold_ends_when_the_ticket_is_redeemed_or_runs_out(env: Env) -> None:
    from handoff.logic.handoff_service import HandoffService

    # Given the last coat held for a first customer
    catalog = StoreCatalog(env.client, "outbound")
    catalog.set_quantities("IST-MODA", [("COAT", 1)], "2026-01-02T00:00:00.000Z")
    for n in (1, 2, 3):
        near_moda(env, f"p-{n}", f"90532000000{n}")
    held = env.service.handle(abandoned("cart-1", "p-1", "COAT"))
    assert held.outcome == "sent"
    assert held.ticket_code is not None

    env.relay()  # handoff stores the ticket

    # When the customer shows the code in the store (a clerk of another store redeems it)
    handoff = HandoffService(tickets=env.tickets, clock=lambda: env.clock[0])
    handoff.redeem(held.ticket_code, by="clerk-1", channel="store", store_id="IST-KADIKOY")

    # Then, once handoff.accepted reaches outbound, the coat is no longer held in the offered store (the store's
    # next stock count says whether it is still there); until then it stays held (never promised twice)
    assert dict(catalog.holds(["IST-MODA"], "2026-06-10T09:00:00.000Z")["IST-MODA"].held) == {"COAT": 1}
    assert [event.detail_type for event in env.relay()] == ["handoff.accepted"]
    assert dict(catalog.holds(["IST-MODA"], "2026-06-10T09:00:00.000Z")["IST-MODA"].held) == {}
    assert env.service.handle(abandoned("cart-2", "p-2", "COAT")).outcome == "sent"

    # And a hold whose ticket ran out holds nothing: two days later the third customer may be promised the coat
    env.clock[0] = T0 + timedelta(days=3)
    assert env.service.handle(abandoned("cart-3", "p-3", "COAT")).outcome == "sent"
