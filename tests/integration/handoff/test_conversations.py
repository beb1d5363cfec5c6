"""Conversations from captured touchpoints against moto: the handoff and profiles tables as template.yaml defines
them, profiles resolved through the real read-only directory, a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handoff.logic.conversation_service import ConversationService
from omnichannel.canonical_event import Channel
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import ProfileCreated, ProfileErased, ProfileMerged, profile_event_id
from tests.support.handoff_harness import T0, conversation_service, event, handoff_tables, own

PHONE = "+905321112233"
IGSID = "17841400000000001"


@pytest.fixture
def env() -> Iterator[tuple[ConversationService, Any]]:
    with handoff_tables() as client:
        yield conversation_service(client), client


def test_a_message_opens_a_conversation_on_the_contacts_profile_once(env) -> None:
    service, client = env
    # Given a profile that owns the Instagram id
    own(client, "prof-1", IdentifierType.INSTAGRAM, IGSID)
    dm = event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}, text="Kaban stokta mı?")
    # When the DM arrives twice (at-least-once delivery)
    first = service.apply(dm)
    second = service.apply(dm)
    # Then one open conversation on that profile, counted once
    assert (first.outcome, second.outcome) == ("applied", "duplicate")
    [conversation] = service.store.of_profile("prof-1")
    assert conversation.state.value == "open"
    assert conversation.message_count == 1
    assert conversation.last is not None
    assert conversation.last.text == "Kaban stokta mı?"


def test_an_older_message_delivered_late_does_not_replace_the_last_one(env) -> None:
    service, _ = env
    who = {IdentifierType.WHATSAPP: "905321112233", IdentifierType.PHONE: PHONE}
    service.apply(event("Message Received", Channel.WHATSAPP, who, minutes=5, text="second"))
    service.apply(event("Message Received", Channel.WHATSAPP, who, minutes=1, text="first"))
    [conversation] = service.store.of_identifier(IdentifierType.WHATSAPP, "905321112233")
    assert conversation.last is not None
    assert conversation.last.text == "second"
    assert conversation.message_count == 2


@pytest.mark.parametrize(
    ("channel", "props"),
    [
        (Channel.SMS, {"text": "STOP", "opt_out": True, "consent_keyword": "STOP"}),  # Twilio: capture marks it
        (Channel.WHATSAPP, {"text": "stop."}),  # Cloud API: only the text says it
    ],
)
def test_stop_opts_the_channel_out_at_once_and_start_back_in(env, channel, props) -> None:
    service, _ = env
    who = {IdentifierType.PHONE: PHONE}
    if channel is Channel.WHATSAPP:
        who[IdentifierType.WHATSAPP] = "905321112233"
    service.apply(event("Message Received", channel, who, minutes=1, **props))
    [conversation] = service.store.of_identifier(*_contact_pair(channel, who)[0])
    assert conversation.consent is not None
    assert conversation.consent.value == "opted_out"
    # An older START delivered late changes nothing; a newer one opts back in
    service.apply(event("Message Received", channel, who, minutes=0, text="START"))
    assert service.store.of_identifier(*_contact_pair(channel, who)[0])[0].consent.value == "opted_out"
    service.apply(event("Message Received", channel, who, minutes=2, text="START"))
    assert service.store.of_identifier(*_contact_pair(channel, who)[0])[0].consent.value == "opted_in"


def _contact_pair(channel: Channel, who: dict[IdentifierType, str]) -> list[tuple[IdentifierType, str]]:
    kind = IdentifierType.WHATSAPP if channel is Channel.WHATSAPP else IdentifierType.PHONE
    return [(kind, who[kind])]


def test_a_conversation_before_its_profile_is_linked_by_profile_created(env) -> None:
    service, _ = env
    # Given a DM handoff saw before profiles resolved it
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}))
    assert service.store.of_profile("prof-9") == []
    # When profile.created announces the identifier
    created = ProfileCreated(
        event_id=profile_event_id("c"),
        occurred_at=T0,
        profile_id="prof-9",
        identifiers={IdentifierType.INSTAGRAM: [IGSID]},
    )
    assert service.profile_created(created) == 1
    assert service.profile_created(created) == 0  # again: nothing to change
    assert [c.contact.value for c in service.store.of_profile("prof-9")] == [IGSID]


def test_merge_rehomes_and_erasure_deletes(env) -> None:
    service, client = env
    own(client, "prof-a", IdentifierType.INSTAGRAM, IGSID)
    own(client, "prof-b", IdentifierType.PHONE, PHONE)
    service.apply(event("Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: IGSID}))
    service.apply(event("Call Started", Channel.PHONE, {IdentifierType.PHONE: PHONE}, minutes=3))
    merged = ProfileMerged(
        event_id=profile_event_id("m"),
        occurred_at=T0,
        merge_id="merge-1",
        survivor_id="prof-a",
        merged_id="prof-b",
        rule="phone",
    )
    assert service.profile_merged(merged) == 1
    assert service.profile_merged(merged) == 0  # redelivered: nothing moves twice
    assert {c.contact.channel for c in service.store.of_profile("prof-a")} == {Channel.INSTAGRAM, Channel.PHONE}
    erased = ProfileErased(
        event_id=profile_event_id("e"),
        occurred_at=T0,
        profile_id="prof-a",
        profile_ids=["prof-a", "prof-b"],
        identifiers={IdentifierType.PHONE: [PHONE]},
    )
    assert service.profile_erased(erased) == 2
    assert service.store.of_profile("prof-a") == []
    assert service.store.of_identifier(IdentifierType.PHONE, PHONE) == []


def test_a_store_visit_opens_a_case_assigned_to_the_store(env) -> None:
    service, _ = env
    visit = event("Store Visited", Channel.STORE, {IdentifierType.EMAIL: "ayse@example.com"}, store_id="IST-01")
    applied = service.apply(visit)
    assert applied.conversation.assigned_store == "IST-01"
    assert applied.conversation.state.value == "open"
