"""Whose messages make a conversation: on WhatsApp, SMS, Messenger, Instagram and phone only the provider's
(a signed webhook, or a server key relaying them), never a message the public write key claims (pure: no AWS)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from handoff.logic.conversations import Consent, Contact, Conversation, NotAConversationEvent, apply_event, contact_of
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.identifiers import IdentifierType, Provenance

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
WA_ID = "905321114455"


def message(channel: Channel, provenance: Provenance, text: str, occurred_at: datetime = T0) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        source="whatsapp" if provenance is Provenance.VERIFIED else "web",
        type=EventType.TRACK,
        name="Message Received",
        channel=channel,
        identifiers={IdentifierType.WHATSAPP: WA_ID, IdentifierType.ANONYMOUS_ID: "a-1"},
        occurred_at=occurred_at,
        received_at=T0,
        provenance=provenance,
        properties={"text": text},
    )


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.SMS, Channel.MESSENGER, Channel.INSTAGRAM])
def test_a_message_the_public_key_claims_on_a_provider_channel_is_no_conversation(channel: Channel) -> None:
    with pytest.raises(NotAConversationEvent):
        contact_of(message(channel, Provenance.ASSERTED, "hello"))


def test_a_web_chat_message_from_the_public_key_is_a_conversation() -> None:
    assert contact_of(message(Channel.CHAT, Provenance.ASSERTED, "hello")) == Contact(
        Channel.CHAT, IdentifierType.ANONYMOUS_ID, "a-1"
    )


def test_a_signed_stop_dated_ahead_counts_from_its_receipt() -> None:
    contact = contact_of(message(Channel.WHATSAPP, Provenance.VERIFIED, "hi"))
    assert contact == Contact(Channel.WHATSAPP, IdentifierType.WHATSAPP, WA_ID)
    ahead = apply_event(
        Conversation(contact), message(Channel.WHATSAPP, Provenance.VERIFIED, "STOP", T0 + timedelta(hours=20)), None
    )
    assert (ahead.consent, ahead.consent_at) == (Consent.OPTED_OUT, "2026-12-04T09:00:00.000Z")
    # so the customer's START a minute later is newer
    later = message(Channel.WHATSAPP, Provenance.VERIFIED, "START", T0 + timedelta(minutes=1))
    later = later.model_copy(update={"received_at": T0 + timedelta(minutes=1)})
    assert apply_event(ahead, later, None).consent is Consent.OPTED_IN


def test_a_signed_stop_from_year_one_is_recorded_and_the_next_real_reply_wins() -> None:
    contact = Contact(Channel.WHATSAPP, IdentifierType.WHATSAPP, WA_ID)
    ancient = message(Channel.WHATSAPP, Provenance.VERIFIED, "STOP", datetime(1, 1, 1, tzinfo=UTC))
    stopped = apply_event(Conversation(contact), ancient, None)
    assert (stopped.consent, stopped.consent_at) == (Consent.OPTED_OUT, "0001-01-01T00:00:00.000Z")
    assert (
        apply_event(stopped, message(Channel.WHATSAPP, Provenance.VERIFIED, "START"), None).consent is Consent.OPTED_IN
    )
