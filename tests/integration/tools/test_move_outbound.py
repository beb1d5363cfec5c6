"""tools/move_outbound.py on moto: a stack deployed before outbound had its own table keeps its stores, stock,
holds, offers and deferred messages, and its open store offers keep working after the move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handoff.dal.ticket_store import TicketStore
from handoff.logic.tickets import new_ticket
from omnichannel.handoff_events import OutboundChannel, TicketPurpose
from outbound.dal.offer_store import OfferStore
from outbound.dal.offer_ticket_store import OfferTicketStore
from outbound.dal.outbox_store import OutboxStore
from outbound.dal.store_catalog import StoreCatalog, StoreHolds
from outbound.delivery.message import OutboundMessage
from outbound.store_offers.geo import Point
from outbound.store_offers.offer_record import OfferRecord
from outbound.store_offers.store_offer import Store
from tests.support.moto_tables import create_table, table_properties
from tools.move_outbound import main, move

T0 = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(dynamodb, "handoff", table_properties("HandoffTable"))
        create_table(dynamodb, "outbound", table_properties("OutboundTable"))
        yield dynamodb


def old_stack(client: Any) -> tuple[str, str]:
    """What the handoff table held before the move: a store with stock and a hold, a deferred offer with its
    message and its reserve-in-store ticket, an agent's ticket, and a conversation."""
    catalog = StoreCatalog(client, "handoff")  # the old code wrote these items into the handoff table
    catalog.put(Store("IST-MODA", "Moda", Point(41.0135, 29.05), "Europe/Istanbul"), "2026-06-01T00:00:00.000Z")
    catalog.set_quantities("IST-MODA", [("COAT", 1)], "2026-06-01T00:00:00.000Z")
    tickets = TicketStore("handoff", client, clock=lambda: T0)
    offer = tickets.create(
        new_ticket(
            profile_id="p-1", from_channel="web", to_channel="store", reason="cart_abandoned_in_stock_nearby",
            now=T0, link_base_url="", ttl=timedelta(hours=59), purpose=TicketPurpose.RESERVE_IN_STORE,
            store_id="IST-MODA",
            cart_snapshot={"cart_id": "c-1", "episode": 1, "lines": [{"sku": "COAT", "quantity": 1}]},
        )
    )  # fmt: skip
    agents = tickets.create(
        new_ticket(
            profile_id="p-2", from_channel="whatsapp", to_channel="phone", reason="call", now=T0, link_base_url=""
        )
    )
    message = OutboundMessage(
        message_id="m-1", profile_id="p-1", channel=OutboundChannel.WHATSAPP, to="+905320000001",
        template="reserve_in_store", reason="cart_abandoned_in_stock_nearby", ticket_code=offer.code,
        requested_at="2026-06-10T19:00:00.000Z", due_at="2026-06-11T06:00:00.000Z",
    )  # fmt: skip
    record = OfferRecord(
        cart_id="c-1", episode=1, event_id="e-1", decided_at="2026-06-10T19:00:00.000Z", outcome="deferred",
        reason="quiet hours", profile_id="p-1", store_id="IST-MODA", message_id="m-1", ticket_code=offer.code,
    )  # fmt: skip
    holds = catalog.hold_writes("IST-MODA", offer.code, {"COAT": 1}, "2026-06-13T06:00:00.000Z", StoreHolds())
    assert OfferStore(client, "handoff").record(record, 2_000_000_000, message=message, holds=holds)
    client.put_item(
        TableName="handoff",
        Item={"pk": {"S": "CONTACT#phone#+905320000002"}, "sk": {"S": "CONV#sms"}, "kind": {"S": "conversation"}},
    )
    return offer.code, agents.code


def test_the_move_copies_what_outbound_owns_once_and_keeps_open_offers_working(client: Any) -> None:
    # Given a handoff table as the previous version left it
    offer_code, agents_code = old_stack(client)

    # When the operator moves it, twice (the second run finds everything there)
    first = move(client, "handoff", "outbound")
    second = move(client, "handoff", "outbound")

    # Then outbound reads its store, stock, hold, decision and deferred message from its own table
    catalog = StoreCatalog(client, "outbound")
    assert catalog.get("IST-MODA") is not None
    assert [store.store_id for store, _ in catalog.near(Point(41.0, 29.04), 5)] == ["IST-MODA"]
    assert catalog.stock(["IST-MODA"], ["COAT"]) == {"IST-MODA": {"COAT": 1}}
    assert dict(catalog.holds(["IST-MODA"], "2026-06-11T00:00:00.000Z")["IST-MODA"].held) == {"COAT": 1}
    decision = OfferStore(client, "outbound").get("c-1", 1)
    assert decision is not None
    assert decision.ticket_code == offer_code
    outbox = OutboxStore(client, "outbound")
    assert outbox.get("m-1") is not None
    assert outbox.due("2026-06-11T06:00:30.000Z", 10) == ["m-1"]  # still deferred to 09:00 on the due index
    # And the open offer's ticket has outbound's copy (the recheck and the hold's end need it); the agent's has none
    copy = OfferTicketStore(client, "outbound").get(offer_code)
    assert copy is not None
    assert (copy.store_id, copy.cart_snapshot["cart_id"]) == ("IST-MODA", "c-1")
    assert OfferTicketStore(client, "outbound").get(agents_code) is None
    # And nothing was copied twice; handoff's own items did not move
    assert (second.copied, second.offer_tickets, second.already_there) == (0, 0, first.copied)
    assert first.offer_tickets == 1
    assert TicketStore("handoff", client).get(offer_code) is not None


def test_delete_leaves_handoff_only_its_own_items(client: Any) -> None:
    old_stack(client)

    assert main(["--handoff-table", "handoff", "--outbound-table", "outbound", "--delete"]) == 0

    left = {item["pk"]["S"].split("#")[0] for item in client.scan(TableName="handoff")["Items"]}
    assert left == {"TICKET", "CONTACT"}
    assert StoreCatalog(client, "outbound").get("IST-MODA") is not None
