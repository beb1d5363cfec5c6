"""The store offer re-check below the handler, on moto: the carts item written the way the carts function writes it
(``carts.dal.cart_store.cart_item``), the outbound stores as they are, and two delivery workers. A worker that dies
halfway through a cancellation leaves its lease to run out; the next one finishes it, and nothing is done twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from moto import mock_aws

from carts.dal.cart_store import cart_item
from carts.logic.cart import Cart, Line, cart_id_of, cart_key
from carts.logic.ports import CartWrite
from omnichannel.canonical_event import utc_iso
from omnichannel.handoff_events import OutboundChannel
from outbound.dal.customer_reader import CartEpisodeReader
from outbound.dal.offer_store import OfferStore
from outbound.dal.offer_ticket_store import OfferTicketStore
from outbound.dal.outbox_store import OutboxStore
from outbound.dal.store_catalog import StoreCatalog
from outbound.delivery.dispatcher import Dispatcher
from outbound.delivery.message import DeliveryState, OutboundMessage, RetryPolicy
from outbound.delivery.templates import Rendered
from outbound.store_offers.geo import Point
from outbound.store_offers.offer_recheck import OfferRecheck
from outbound.store_offers.offer_record import OfferRecord
from outbound.store_offers.offer_service import OFFER_REASON, OFFER_TEMPLATE
from outbound.store_offers.offer_ticket import OfferTicket, OfferTicketState
from outbound.store_offers.store_offer import Store
from tests.support.moto_tables import create_table, table_properties

T0 = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 22:00 in Istanbul: the offer waits for 09:00
DUE = datetime(2026, 6, 11, 6, 0, tzinfo=UTC)
KEY = cart_key("user_id", "u-1")
CART_ID = cart_id_of(KEY)
_serializer = TypeSerializer()


class Sender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: OutboundMessage, rendered: Rendered) -> str:
        self.sent.append(message.message_id)
        return f"wamid-{len(self.sent)}"


class WorkerDied(RuntimeError):
    pass


@dataclass
class Env:
    client: Any
    clock: list[datetime]
    recheck: OfferRecheck
    outbox: OutboxStore
    tickets: OfferTicketStore
    offers: OfferStore
    sender: Sender
    code: str

    def cart(self, **changes: Any) -> None:
        cart = Cart(
            key=KEY,
            exists=True,
            rev=3,
            version=2,
            currency="TRY",
            lines=(Line("P-COAT", 1, Decimal("1299.90"), sku="COAT", name="Coat"),),
            profile_id="p-1",
            last_activity_at=T0 - timedelta(hours=2),
            abandoned_episodes=1,
            abandoned_at=T0,
        )
        item = cart_item(CartWrite(replace(cart, **changes), None, None, None), shards=4)
        self.client.put_item(
            TableName="carts", Item={name: _serializer.serialize(value) for name, value in item.items()}
        )

    def worker(self, on_cancel: Any = None) -> Dispatcher:
        return Dispatcher(
            outbox=self.outbox,
            senders={OutboundChannel.WHATSAPP: self.sender},
            clock=lambda: self.clock[0],
            retry=RetryPolicy(),
            precondition=self.recheck,
            on_cancel=on_cancel or self.recheck.cancelled,
        )


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        for name, resource in (("outbound", "OutboundTable"), ("profiles", "ProfilesTable"), ("carts", "CartsTable")):
            create_table(client, name, table_properties(resource))
        clock = [T0]
        client.put_item(
            TableName="profiles",
            Item={
                "pk": {"S": "PROFILE#p-1"},
                "sk": {"S": "PROFILE"},
                "identifiers": {"M": {"user_id": {"L": [{"S": "u-1"}]}, "anonymous_id": {"L": [{"S": "dev-1"}]}}},
                "traits": {"S": json.dumps({})},
            },
        )
        catalog = StoreCatalog(client, "outbound")
        catalog.put(Store("IST-MODA", "Moda", Point(41.0135, 29.05), "Europe/Istanbul"), utc_iso(T0))
        catalog.set_quantities("IST-MODA", [("COAT", 2)], utc_iso(T0))
        tickets = OfferTicketStore(client, "outbound")
        ticket = OfferTicket(
            profile_id="p-1",
            from_channel="web",
            reason=OFFER_REASON,
            created_at=T0,
            expires_at=T0 + timedelta(hours=59),
            store_id="IST-MODA",
            cart_snapshot={"cart_id": CART_ID, "episode": 1, "lines": [{"sku": "COAT", "quantity": 1}]},
        )
        client.put_item(**tickets.put_write(ticket)["Put"])
        message = OutboundMessage(
            message_id="m-offer-1",
            profile_id="p-1",
            channel=OutboundChannel.WHATSAPP,
            to="+905320000001",
            template=OFFER_TEMPLATE,
            variables={"product": "Coat", "store_name": "Moda", "distance_km": "3.0", "code": "X", "valid_until": "-"},
            reason=OFFER_REASON,
            ticket_code=ticket.code,
            requested_at=utc_iso(T0),
            due_at=utc_iso(DUE),
        )
        offers = OfferStore(client, "outbound")
        record = OfferRecord(
            cart_id=CART_ID,
            episode=1,
            event_id="e-1",
            decided_at=utc_iso(T0),
            outcome="deferred",
            reason="quiet hours",
            profile_id="p-1",
            store_id="IST-MODA",
            send_at=utc_iso(DUE),
            message_id=message.message_id,
            ticket_code=ticket.code,
        )
        assert offers.record(record, 2_000_000_000, message=message)
        recheck = OfferRecheck(
            tickets=tickets,
            carts=CartEpisodeReader(client, profiles_table="profiles", carts_table="carts"),
            stock=catalog,
            offers=offers,
            clock=lambda: clock[0],
            offer_reason=OFFER_REASON,
        )
        env = Env(client, clock, recheck, OutboxStore(client, "outbound"), tickets, offers, Sender(), ticket.code)
        env.cart()
        yield env


def test_outbound_finds_the_cart_under_the_id_carts_gave_it() -> None:
    # The carts function's public id and the outbound function's copy of its recipe agree
    from outbound.dal.customer_reader import cart_id_of as outbound_cart_id_of

    assert outbound_cart_id_of(KEY) == CART_ID


def test_a_worker_that_dies_mid_cancellation_is_finished_by_the_next_one_once(env: Env) -> None:
    # Given a cart bought during the night (carts closed it: the episode is recovered)
    env.cart(lines=(), version=3, closed_at=T0 + timedelta(hours=1), recovered_episodes=1, last_order_id="O-1")
    env.clock[0] = DUE + timedelta(seconds=30)

    # When the first worker voids the ticket and dies before it ends the message
    def dies(message: OutboundMessage, reason: str) -> None:
        env.recheck.cancelled(message, reason)
        raise WorkerDied

    with pytest.raises(WorkerDied):
        env.worker(on_cancel=dies).deliver_due()

    # Then a second worker finds the message held until the lease runs out, and nothing was sent
    assert [a.outcome for a in env.worker().deliver_due()] == []
    held = env.outbox.get("m-offer-1")
    assert held is not None
    assert held.state is DeliveryState.SENDING
    # When the lease has run out, the next sweep cancels it, and a further sweep finds nothing
    env.clock[0] += RetryPolicy().lease + timedelta(seconds=1)
    attempts = env.worker().deliver_due()
    assert [(a.outcome, a.error) for a in attempts] == [("cancelled", "cart_bought")]
    assert env.worker().deliver_due() == []
    assert env.sender.sent == []
    ended = env.outbox.get("m-offer-1")
    assert ended is not None
    assert (ended.state, ended.last_error) == (DeliveryState.CANCELLED, "cart_bought")
    ticket = env.tickets.get(env.code)
    assert ticket is not None
    assert ticket.state is OfferTicketState.VOIDED
    record = env.offers.get(CART_ID, 1)
    assert record is not None
    assert (record.outcome, record.reason, record.send_at) == ("cancelled", "cart_bought", utc_iso(DUE))
    assert record.cancelled_at == utc_iso(DUE + timedelta(seconds=30))  # the first cancellation stands


def test_a_request_redelivered_after_the_cancellation_sends_nothing(env: Env) -> None:
    env.cart(lines=())  # emptied without an order
    env.clock[0] = DUE + timedelta(seconds=30)
    assert [(a.outcome, a.error) for a in env.worker().deliver_due()] == [("cancelled", "cart_changed")]

    assert env.worker().deliver("m-offer-1").outcome == "skipped"
    assert env.sender.sent == []


def test_an_untouched_cart_and_store_send_once_and_leave_the_ticket_open(env: Env) -> None:
    env.clock[0] = DUE + timedelta(seconds=30)

    assert [a.outcome for a in env.worker().deliver_due()] == ["sent"]
    assert env.worker().deliver_due() == []

    assert env.sender.sent == ["m-offer-1"]
    ticket = env.tickets.get(env.code)
    assert ticket is not None
    assert ticket.state is OfferTicketState.OPEN


@pytest.mark.parametrize("ending", ["sent", "cancelled"])
def test_the_delivery_sweep_uses_every_outbox_grant_the_template_gives_it(env: Env, ending: str) -> None:
    # Least privilege: what the sweep does to outbox items while it sends an offer, or cancels one (cart emptied)
    from tests.infrastructure.cfn_template import as_list, functions, load_template

    used: set[str] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        key = params.get("Key") or params.get("Item") or {}
        if str(key.get("pk", {}).get("S", "")).startswith("OUTBOX#"):
            used.add(f"dynamodb:{model.name}")

    if ending == "cancelled":
        env.cart(lines=())
    env.client.meta.events.register("provide-client-params.dynamodb.*", record)
    env.clock[0] = DUE + timedelta(seconds=30)
    assert [a.outcome for a in env.worker().deliver_due()] == [ending]
    [sweep] = [f for f in functions(load_template()) if f.logical_id == "OutboundDeliveryFunction"]
    granted = {
        action
        for policy in as_list(sweep.properties.get("Policies"))
        if isinstance(policy, dict)
        for statement in as_list(policy.get("Statement"))
        if statement.get("Sid") == "KeepTheOutbox"
        for action in as_list(statement["Action"])
    }
    assert granted == used == {"dynamodb:UpdateItem"}
