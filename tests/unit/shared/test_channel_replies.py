"""Who speaks for a customer on a provider channel, and the STOP / START replies handoff and journeys honour."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.channel_replies import consent_reply, keyword_of, speaks_for_customer
from omnichannel.identifiers import IdentifierType, Provenance

RECEIVED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def message(
    channel: Channel = Channel.WHATSAPP,
    provenance: Provenance = Provenance.VERIFIED,
    occurred_at: datetime = RECEIVED,
    name: str = "Message Received",
    **properties: Any,
) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        source="whatsapp" if provenance is Provenance.VERIFIED else "web",
        type=EventType.TRACK,
        name=name,
        channel=channel,
        identifiers={IdentifierType.WHATSAPP: "905321110001"},
        occurred_at=occurred_at,
        received_at=RECEIVED,
        provenance=provenance,
        properties=properties,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("STOP", (False, "STOP")), (" stop. ", (False, "STOP")), ("Unsubscribe!", (False, "UNSUBSCRIBE")),
     ("start", (True, "START")), ("UNSTOP", (True, "UNSTOP")), ("stop it", None), ("", None), (None, None),
     (9, None)],
)  # fmt: skip
def test_keywords(text: object, expected: tuple[bool, str] | None) -> None:
    assert keyword_of(text) == expected


def test_a_signed_reply_is_a_consent_change_from_its_text_or_the_providers_flag() -> None:
    stop = consent_reply(message(text="STOP"))
    assert stop is not None
    assert (stop.opted_in, stop.keyword, stop.at) == (False, "STOP", RECEIVED)
    flagged = consent_reply(message(Channel.SMS, opt_in=True, consent_keyword="unstop"))
    assert flagged is not None
    assert (flagged.opted_in, flagged.keyword) == (True, "UNSTOP")


def test_a_reply_dated_after_its_receipt_counts_from_its_receipt() -> None:
    ahead = consent_reply(message(occurred_at=RECEIVED + timedelta(hours=20), text="START"))
    assert ahead is not None
    assert ahead.at == RECEIVED
    earlier = RECEIVED - timedelta(minutes=3)
    assert (reply := consent_reply(message(occurred_at=earlier, text="START"))) is not None
    assert reply.at == earlier


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.SMS])
def test_a_client_keys_reply_changes_no_consent(channel: Channel) -> None:
    assert consent_reply(message(channel, Provenance.ASSERTED, text="START")) is None
    assert consent_reply(message(channel, Provenance.ASSERTED, opt_out=True)) is None


def test_only_sms_and_whatsapp_messages_carry_consent() -> None:
    assert consent_reply(message(Channel.MESSENGER, text="STOP")) is None
    assert consent_reply(message(name="Call Started", text="STOP")) is None


@pytest.mark.parametrize(
    ("channel", "provenance", "speaks"),
    [(Channel.WHATSAPP, Provenance.ASSERTED, False), (Channel.SMS, Provenance.ASSERTED, False),
     (Channel.INSTAGRAM, Provenance.ASSERTED, False), (Channel.PHONE, Provenance.ASSERTED, False),
     (Channel.WHATSAPP, Provenance.VERIFIED, True), (Channel.CHAT, Provenance.ASSERTED, True),
     (Channel.WEB, Provenance.ASSERTED, True)],
)  # fmt: skip
def test_who_speaks_for_a_customer(channel: Channel, provenance: Provenance, speaks: bool) -> None:
    assert speaks_for_customer(message(channel, provenance)) is speaks


def test_a_reply_from_year_one_keeps_its_date_and_never_outranks_a_later_one() -> None:
    # A verified source's clock at 0001-01-01: the reply is the oldest possible, so any real later reply wins
    ancient = consent_reply(message(occurred_at=datetime(1, 1, 1, tzinfo=UTC), text="START"))
    assert ancient is not None
    assert ancient.at == datetime(1, 1, 1, tzinfo=UTC)
    later = consent_reply(message(text="STOP"))
    assert later is not None
    assert later.at > ancient.at
