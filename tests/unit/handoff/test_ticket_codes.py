"""Ticket codes and the ticket's life, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.logic.tickets import (
    ALPHABET,
    MAX_TTL,
    TicketAlreadyUsed,
    TicketExpired,
    TicketState,
    deep_link,
    display_code,
    new_code,
    new_ticket,
    normalise_code,
    ticket_view,
)
from omnichannel.handoff_events import TicketPurpose

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_new_codes_are_eight_crockford_characters_without_ambiguous_letters() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500  # 40 random bits: no repeats in a few hundred
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(ALPHABET)
        assert not set(code) & set("ILOU")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ABCD-EFGH", "ABCDEFGH"),
        ("abcd efgh", "ABCDEFGH"),
        (" 0i1l-o0AB ", "011100AB"),
        ("ab-cd-ef-gh", "ABCDEFGH"),
    ],
)
def test_typed_codes_are_normalised(typed: str, stored: str) -> None:
    assert normalise_code(typed) == stored


@pytest.mark.parametrize("typed", ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU", "ABCD_EFGH", "ABCD/EFGH"])
def test_what_cannot_be_a_code_is_refused(typed: str) -> None:
    assert normalise_code(typed) is None


def test_codes_are_shown_with_a_dash() -> None:
    assert display_code("ABCDEFGH") == "ABCD-EFGH"
    assert normalise_code(display_code("7K3MQ9ZX")) == "7K3MQ9ZX"


def test_only_digital_channels_get_a_deep_link() -> None:
    assert deep_link("https://shop.example/", "ABCDEFGH", "chat") == "https://shop.example/h/ABCDEFGH"
    assert deep_link("https://shop.example", "ABCDEFGH", "whatsapp") == "https://shop.example/h/ABCDEFGH"
    assert deep_link("https://shop.example", "ABCDEFGH", "store") is None
    assert deep_link("https://shop.example", "ABCDEFGH", "phone") is None


def test_a_new_ticket_expires_after_its_ttl_and_reads_expired_then() -> None:
    ticket = new_ticket(
        profile_id="prof-1",
        from_channel="whatsapp",
        to_channel="store",
        reason="wants to try it on",
        now=T0,
        link_base_url="https://shop.example",
        ttl=timedelta(minutes=30),
    )
    assert ticket.state is TicketState.OPEN
    assert ticket.deep_link is None
    assert ticket.expires_at == T0 + timedelta(minutes=30)
    assert ticket.as_of(T0 + timedelta(minutes=29)).state is TicketState.OPEN
    assert ticket.as_of(T0 + timedelta(minutes=30)).state is TicketState.EXPIRED
    ticket.check_redeemable(T0 + timedelta(minutes=29))
    with pytest.raises(TicketExpired):
        ticket.check_redeemable(T0 + timedelta(minutes=31))
    redeemed = ticket.model_copy(update={"state": TicketState.REDEEMED})
    with pytest.raises(TicketAlreadyUsed):
        redeemed.check_redeemable(T0)


@pytest.mark.parametrize("ttl", [timedelta(0), MAX_TTL + timedelta(minutes=1)])
def test_a_ttl_outside_one_minute_to_a_week_is_refused(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="ticket lives"):
        new_ticket(profile_id="p", from_channel="web", to_channel="chat", reason="r", now=T0, link_base_url="", ttl=ttl)


def test_a_new_code_moves_the_deep_link_with_it() -> None:
    ticket = new_ticket(
        profile_id="p",
        from_channel="instagram",
        to_channel="chat",
        reason="order question",
        now=T0,
        link_base_url="https://shop.example",
        purpose=TicketPurpose.HANDOFF,
    )
    moved = ticket.with_code("ZZZZ0000")
    assert moved.deep_link == "https://shop.example/h/ZZZZ0000"
    assert moved.ticket_id == ticket.ticket_id
    view = ticket_view(moved)
    assert view["code"] == "ZZZZ-0000"
    assert view["state"] == "open"
    assert view["expires_at"].startswith("2026-03-02T10:00:00")
