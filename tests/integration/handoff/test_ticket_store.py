"""Handoff tickets in moto's DynamoDB, in the handoff table as template.yaml defines it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handoff.dal.ticket_store import KEEP_AFTER_EXPIRY, CodeSpaceExhausted, TicketStore
from handoff.logic.tickets import (
    Ticket,
    TicketAlreadyUsed,
    TicketExpired,
    TicketNotFound,
    TicketState,
    new_ticket,
)
from omnichannel.handoff_events import TicketPurpose
from tests.support.moto_tables import atomic_moto_dynamodb, create_table, table_properties

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(dynamodb, "handoff", table_properties("HandoffTable"))
        yield dynamodb


def ticket(profile_id: str = "prof-1", minutes: int = 0, to_channel: str = "store", **extra: Any) -> Ticket:
    return new_ticket(
        profile_id=profile_id,
        from_channel="whatsapp",
        to_channel=to_channel,
        reason="try it on",
        now=T0 + timedelta(minutes=minutes),
        link_base_url="https://shop.example",
        created_by="agent-7",
        **extra,
    )


def test_a_created_ticket_reads_back_whole(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0)
    created = store.create(
        ticket(
            purpose=TicketPurpose.RESERVE_IN_STORE,
            store_id="kadikoy",
            cart_snapshot={"lines": [{"sku": "COAT-42", "quantity": 1}], "total": "1499.90"},
            note="size 42",
        )
    )
    read = store.get(created.code.lower())
    assert read == created
    item = client.get_item(TableName="handoff", Key={"pk": {"S": f"TICKET#{created.code}"}, "sk": {"S": "TICKET"}})
    # the TTL removes it some days after it stopped being valid, not at expiry
    assert int(item["Item"]["expires_at"]["N"]) == int((created.expires_at + KEEP_AFTER_EXPIRY).timestamp())
    assert item["Item"]["profile_sk"]["S"].startswith("TICKET#2026-03-02T09:00")


def test_a_code_collision_gets_a_fresh_code(client) -> None:
    fresh = iter(["BBBBBBBB", "CCCCCCCC"])
    store = TicketStore("handoff", client, clock=lambda: T0, codes=lambda: next(fresh))
    first = store.create(ticket(to_channel="chat").with_code("AAAAAAAA"))
    # When a second ticket draws the same code
    second = store.create(ticket(profile_id="prof-2", to_channel="chat").with_code("AAAAAAAA"))
    # Then it is stored under a fresh code, with its link, and the first is untouched
    assert second.code == "BBBBBBBB"
    assert second.deep_link == "https://shop.example/h/BBBBBBBB"
    got = store.get("AAAAAAAA")
    assert got is not None
    assert got.profile_id == first.profile_id == "prof-1"


def test_a_code_space_that_keeps_colliding_gives_up(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0, codes=lambda: "AAAAAAAA")
    store.create(ticket().with_code("AAAAAAAA"))
    with pytest.raises(CodeSpaceExhausted):
        store.create(ticket().with_code("AAAAAAAA"))


def test_a_ticket_is_redeemed_once(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0)
    created = store.create(ticket())
    redeemed = store.redeem(created.code, "clerk-1", T0 + timedelta(minutes=5), channel="store", store_id="kadikoy")
    assert redeemed.state is TicketState.REDEEMED
    assert (redeemed.redeemed_by, redeemed.redeemed_channel, redeemed.redeemed_store_id) == (
        "clerk-1",
        "store",
        "kadikoy",
    )
    assert redeemed.redeemed_at == T0 + timedelta(minutes=5)
    with pytest.raises(TicketAlreadyUsed):
        store.redeem(created.code, "clerk-2", T0 + timedelta(minutes=6))


def test_an_expired_ticket_cannot_be_redeemed_and_reads_expired(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0 + timedelta(hours=2))
    created = store.create(ticket())
    with pytest.raises(TicketExpired):
        store.redeem(created.code, "clerk-1", T0 + timedelta(minutes=60))
    got = store.get(created.code)
    assert got is not None
    assert got.state is TicketState.EXPIRED


def test_unknown_or_malformed_codes_are_not_found(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0)
    assert store.get("ZZZZ-ZZZZ") is None
    assert store.get("not a code") is None
    with pytest.raises(TicketNotFound):
        store.redeem("ZZZZ-ZZZZ", "clerk-1", T0)
    with pytest.raises(TicketNotFound):
        store.redeem("nope", "clerk-1", T0)


def test_two_clerks_redeeming_at_once_one_wins(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0)
    created = store.create(ticket())
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def redeem(clerk: str) -> None:
        barrier.wait()
        try:
            store.redeem(created.code, clerk, T0 + timedelta(minutes=1))
            outcomes.append("redeemed")
        except TicketAlreadyUsed:
            outcomes.append("used")

    threads = [threading.Thread(target=redeem, args=(f"clerk-{n}",)) for n in range(4)]
    with atomic_moto_dynamodb():  # each request atomic, as DynamoDB's are (moto's are not between threads)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["redeemed", "used", "used", "used"]


def test_a_profiles_tickets_newest_first_and_deleted_on_erasure(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0 + timedelta(minutes=90))
    older = store.create(ticket(minutes=0))
    newer = store.create(ticket(minutes=45))
    other = store.create(ticket(profile_id="prof-2"))
    mine = store.of_profile("prof-1")
    assert [t.code for t in mine] == [newer.code, older.code]
    assert [t.state for t in mine] == [TicketState.OPEN, TicketState.EXPIRED]
    assert [t.code for t in store.of_profile("prof-1", limit=1)] == [newer.code]
    # When the profile is erased (twice: at-least-once delivery)
    assert store.delete_of_profile("prof-1") == 2
    assert store.delete_of_profile("prof-1") == 0
    # Then its tickets are gone, another customer's stay
    assert store.get(older.code) is None
    assert store.get(newer.code) is None
    assert store.get(other.code) is not None


def test_a_requested_ticket_is_stored_under_its_own_code_once_and_never_over_another(client) -> None:
    # Given the ticket a store offer asked for (outbound drew its code: the message already carries it)
    store = TicketStore("handoff", client, clock=lambda: T0)
    offer = ticket(purpose=TicketPurpose.RESERVE_IN_STORE, store_id="IST-MODA").model_copy(update={"code": "QW4RT8YP"})

    # When handoff stores it, and the request is delivered again
    first, again = store.store_requested(offer), store.store_requested(offer)

    # Then it is stored once, under that very code, and the repeat changes nothing
    assert (first, again) == (True, False)
    stored = store.get("QW4R-T8YP")
    assert stored is not None
    assert (stored.ticket_id, stored.store_id) == (offer.ticket_id, "IST-MODA")

    # And another ticket that drew the same code (two random 40-bit codes colliding) does not replace it
    other = ticket(profile_id="prof-2").model_copy(update={"code": "QW4RT8YP"})
    assert store.store_requested(other) is None
    kept = store.get("QW4RT8YP")
    assert kept is not None
    assert kept.ticket_id == offer.ticket_id


def test_a_void_request_voids_an_open_ticket_once_and_never_a_redeemed_one(client) -> None:
    store = TicketStore("handoff", client, clock=lambda: T0)
    open_one = ticket(purpose=TicketPurpose.RESERVE_IN_STORE).model_copy(update={"code": "AAAA1111"})
    redeemed = ticket(purpose=TicketPurpose.RESERVE_IN_STORE).model_copy(update={"code": "BBBB2222"})
    store.store_requested(open_one)
    store.store_requested(redeemed)
    store.redeem("BBBB2222", "clerk-1", T0)

    assert (store.void("AAAA1111", T0), store.void("AAAA1111", T0)) == (True, False)
    assert store.void("BBBB2222", T0) is False
    voided, kept = store.get("AAAA1111"), store.get("BBBB2222")
    assert voided is not None
    assert kept is not None
    assert (voided.state, kept.state) == (TicketState.VOIDED, TicketState.REDEEMED)
