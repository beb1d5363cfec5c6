"""Which open case a call continues (pure: no AWS)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from handoff.logic.conversations import (
    CaseState,
    Contact,
    Conversation,
    LastMessage,
    apply_event,
    link_to_open_case,
)
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.identifiers import IdentifierType

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLER = Contact(Channel.PHONE, IdentifierType.PHONE, "+905321114455")


def conversation(channel: Channel, kind: IdentifierType, value: str, at: str, state: CaseState = CaseState.OPEN):
    last = LastMessage(event_id=str(uuid.uuid4()), name="Message Received", at=at)
    return Conversation(Contact(channel, kind, value), exists=True, state=state, profile_id="p", last=last)


def call(name: str = "Call Started") -> CanonicalEvent:
    return CanonicalEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        source="test",
        type=EventType.TRACK,
        name=name,
        channel=Channel.PHONE,
        identifiers={IdentifierType.PHONE: CALLER.value},
        occurred_at=T0,
        received_at=T0,
    )


DM = conversation(Channel.INSTAGRAM, IdentifierType.INSTAGRAM, "1784", "2026-03-02T08:00:00.000Z")
WHATSAPP = conversation(Channel.WHATSAPP, IdentifierType.WHATSAPP, "905321114455", "2026-03-02T08:30:00.000Z")
OLD_CHAT = conversation(Channel.CHAT, IdentifierType.USER_ID, "c1", "2026-03-02T08:45:00.000Z", CaseState.CLOSED)


def linked(before: Conversation, others: list[Conversation], name: str = "Call Started") -> Conversation:
    event = call(name)
    return link_to_open_case(before, apply_event(before, event, "p"), event, others)


def test_a_new_call_continues_the_newest_open_case_on_another_channel() -> None:
    after = linked(Conversation(CALLER), [DM, WHATSAPP, OLD_CHAT])
    assert (after.linked_conversation_id, after.handed_off_from) == (WHATSAPP.conversation_id, Channel.WHATSAPP)


def test_an_open_linked_call_keeps_its_link_and_a_reopened_one_looks_again() -> None:
    open_call = replace(
        Conversation(CALLER), exists=True, linked_conversation_id=DM.conversation_id, handed_off_from=Channel.INSTAGRAM
    )
    assert linked(open_call, [WHATSAPP]).linked_conversation_id == DM.conversation_id
    closed_call = replace(open_call, state=CaseState.CLOSED)
    assert linked(closed_call, [WHATSAPP]).linked_conversation_id == WHATSAPP.conversation_id
    # a reopened case with nothing open elsewhere forgets its old link
    forgotten = linked(closed_call, [OLD_CHAT])
    assert (forgotten.linked_conversation_id, forgotten.handed_off_from) == (None, None)


def test_only_call_started_links() -> None:
    assert linked(Conversation(CALLER), [DM], name="Call Completed").linked_conversation_id is None
