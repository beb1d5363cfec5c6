"""Implicit handoff against moto: a call from the number on the profile continues the customer's open case on
another channel (the call's conversation records which one), with no code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handoff.logic.conversation_service import ConversationService
from handoff.logic.conversations import Contact, conversation_id_of
from omnichannel.canonical_event import Channel
from omnichannel.identifiers import IdentifierType
from tests.support.handoff_harness import conversation_service, event, handoff_tables, own

PHONE = "+905321114455"
IGSID = "17841400000000055"
WA_ID = "905321114455"


@pytest.fixture
def client() -> Iterator[Any]:
    with handoff_tables() as dynamodb:
        yield dynamodb


@pytest.fixture
def service(client: Any) -> ConversationService:
    return conversation_service(client)


DM_ID = conversation_id_of(Contact(Channel.INSTAGRAM, IdentifierType.INSTAGRAM, IGSID))


def test_a_call_from_the_profile_phone_continues_the_instagram_case(service: ConversationService, client: Any) -> None:
    # Given a customer whose profile holds their Instagram id and phone, with an open DM about an order
    own(client, "prof-9", IdentifierType.INSTAGRAM, IGSID)
    own(client, "prof-9", IdentifierType.PHONE, PHONE)
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}, text="Siparişim?"))
    # When they call from that phone
    call = service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: PHONE}, minutes=5))
    # Then the call's case continues the DM's, stored so
    assert call.conversation.linked_conversation_id == DM_ID
    assert call.conversation.handed_off_from is Channel.INSTAGRAM
    stored = service.store.load(call.conversation.contact)
    assert (stored.linked_conversation_id, stored.handed_off_from) == (DM_ID, Channel.INSTAGRAM)


def test_the_link_stays_with_the_case_while_it_is_open(service: ConversationService, client: Any) -> None:
    own(client, "prof-9", IdentifierType.INSTAGRAM, IGSID)
    own(client, "prof-9", IdentifierType.PHONE, PHONE)
    own(client, "prof-9", IdentifierType.WHATSAPP, WA_ID)
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}))
    service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: PHONE}, minutes=5))
    # When a WhatsApp case opens later and the customer calls again on the still-open call case
    service.apply(event("Message Received", Channel.WHATSAPP, {IdentifierType.WHATSAPP: WA_ID}, minutes=10))
    again = service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: PHONE}, minutes=15))
    # Then the call case keeps the case it continued first
    assert again.conversation.linked_conversation_id == DM_ID
    assert again.conversation.message_count == 2


def test_a_call_links_to_nothing_without_an_open_case_elsewhere(service: ConversationService, client: Any) -> None:
    own(client, "prof-9", IdentifierType.PHONE, PHONE)
    lone = service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: PHONE}))
    assert (lone.conversation.linked_conversation_id, lone.conversation.handed_off_from) == (None, None)
    # nor does a call from a number no profile holds, even while someone else has an open DM
    own(client, "prof-10", IdentifierType.INSTAGRAM, IGSID)
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}))
    stranger = service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: "+905320000001"}))
    assert stranger.conversation.linked_conversation_id is None


def test_messages_do_not_link(service: ConversationService, client: Any) -> None:
    own(client, "prof-9", IdentifierType.INSTAGRAM, IGSID)
    own(client, "prof-9", IdentifierType.WHATSAPP, WA_ID)
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}))
    whatsapp = service.apply(event("Message Received", Channel.WHATSAPP, {IdentifierType.WHATSAPP: WA_ID}, minutes=1))
    assert whatsapp.conversation.linked_conversation_id is None
