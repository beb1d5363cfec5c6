"""Conversations: inbound touchpoints from capture folded into one thread per customer contact and channel.

A conversation is keyed by its *contact*: the channel and the identifier the customer reached us with (the
WhatsApp wa_id, the Instagram IGSID, the caller's phone ...). It carries a case state (``open``, ``pending``,
``closed``), the last message, the assigned agent or store, and the channel's consent. Pure: no boto3 here.

- ``Message Received`` / ``Call Started`` / ``Store Visited`` open the case (a closed one is reopened, a pending
  one goes back to open: the customer spoke); ``Call Completed`` only records the call.
- Events apply in any order: the last message is the newest by ``occurred_at`` (ties: event id), consent the
  newest consent change. Applying the same event twice is refused one layer down (event ids are remembered).
- Implicit handoff: a ``Call Started`` that opens (or reopens) the call's case, from a customer who has an open
  case on another channel (an Instagram DM ...), continues that case: the call's conversation records
  ``linked_conversation_id`` and ``handed_off_from`` (the other case's channel), so the agent answering sees
  what the call is about without any code.
- Consent: an SMS or WhatsApp ``STOP`` opts that contact out of that channel at once (the keywords and flags:
  ``omnichannel.channel_replies``), dated no later than capture received it.
- Only the provider speaks for a customer on WhatsApp, SMS, Messenger, Instagram and phone: a message a public
  client write key claims there is no conversation event (it stays in the timeline as analytics).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from omnichannel.canonical_event import CanonicalEvent, Channel, utc_iso
from omnichannel.channel_replies import MESSAGE_RECEIVED, consent_reply, speaks_for_customer
from omnichannel.identifiers import IdentifierType

CALL_STARTED = "Call Started"
CALL_COMPLETED = "Call Completed"
STORE_VISITED = "Store Visited"
CONVERSATION_EVENTS = frozenset({MESSAGE_RECEIVED, CALL_STARTED, CALL_COMPLETED, STORE_VISITED})
OPENING_EVENTS = frozenset({MESSAGE_RECEIVED, CALL_STARTED, STORE_VISITED})
LINKING_EVENTS = frozenset({CALL_STARTED})  # touchpoints that continue the customer's open case elsewhere
MAX_TEXT = 280  # the last message's text kept on the conversation (the timeline has the whole event)
CONVERSATION_NAMESPACE = uuid.UUID("9d3c2b7e-41a6-4c1f-b0e2-6a5f8e9d1c33")

# Which identifier names the customer on each channel, best first.
_CONTACT_TYPES: dict[Channel, tuple[IdentifierType, ...]] = {
    Channel.WHATSAPP: (IdentifierType.WHATSAPP, IdentifierType.PHONE),
    Channel.SMS: (IdentifierType.PHONE,),
    Channel.PHONE: (IdentifierType.PHONE,),
    Channel.MESSENGER: (IdentifierType.MESSENGER,),
    Channel.INSTAGRAM: (IdentifierType.INSTAGRAM,),
    Channel.EMAIL: (IdentifierType.EMAIL,),
}
_FALLBACK_TYPES = (
    IdentifierType.USER_ID,
    IdentifierType.EMAIL,
    IdentifierType.PHONE,
    IdentifierType.LOYALTY_CARD,
    IdentifierType.POS_CUSTOMER,
    IdentifierType.ANONYMOUS_ID,
)


class CaseState(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class Consent(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class NotAConversationEvent(ValueError):
    """The event is no conversational touchpoint, or names nobody: nothing to keep."""


@dataclass(frozen=True)
class Contact:
    channel: Channel
    kind: IdentifierType
    value: str


@dataclass(frozen=True)
class LastMessage:
    event_id: str
    name: str
    at: str  # ISO 8601 UTC with milliseconds (sortable)
    text: str | None = None
    direction: str = "inbound"


@dataclass(frozen=True)
class Conversation:
    contact: Contact
    exists: bool = False
    rev: int = 0
    state: CaseState = CaseState.OPEN
    profile_id: str | None = None
    opened_at: str | None = None
    last: LastMessage | None = None
    message_count: int = 0
    assigned_agent: str | None = None
    assigned_store: str | None = None
    consent: Consent | None = None
    consent_at: str | None = None
    consent_keyword: str | None = None
    linked_conversation_id: str | None = None
    handed_off_from: Channel | None = None

    @property
    def conversation_id(self) -> str:
        return conversation_id_of(self.contact)


def conversation_id_of(contact: Contact) -> str:
    """Opaque and stable: the identifier itself never shows in an id."""
    key = f"{contact.channel.value}\x1f{contact.kind.value}\x1f{contact.value}"
    return str(uuid.uuid5(CONVERSATION_NAMESPACE, key))


def contact_of(event: CanonicalEvent) -> Contact:
    if event.name not in CONVERSATION_EVENTS:
        raise NotAConversationEvent(f"{event.name!r} is not a conversation event")
    if not speaks_for_customer(event):
        raise NotAConversationEvent(f"a client write key does not speak for a customer on {event.channel.value}")
    for kind in _CONTACT_TYPES.get(event.channel, ()) + _FALLBACK_TYPES:
        value = event.identifiers.get(kind)
        if value:
            return Contact(event.channel, kind, value)
    raise NotAConversationEvent("the event carries no identifier to reach the customer by")


def _text(event: CanonicalEvent) -> str | None:
    text = event.properties.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()[:MAX_TEXT]


def consent_change(event: CanonicalEvent) -> tuple[Consent, str, str] | None:
    """``(opted_out | opted_in, keyword, at)`` when this inbound message changes the channel's consent."""
    reply = consent_reply(event)
    if reply is None:
        return None
    return (Consent.OPTED_IN if reply.opted_in else Consent.OPTED_OUT), reply.keyword, utc_iso(reply.at)


def _newer(at: str, event_id: str, than: tuple[str, str] | None) -> bool:
    return than is None or (at, event_id) > than


def apply_event(conversation: Conversation, event: CanonicalEvent, profile_id: str | None) -> Conversation:
    """The conversation after ``event`` (pure; the caller makes sure an event applies once)."""
    at = utc_iso(event.occurred_at)
    name = event.name or ""
    changed = conversation
    if profile_id is not None:
        changed = replace(changed, profile_id=profile_id)
    if not changed.exists or changed.opened_at is None:
        changed = replace(changed, opened_at=at)
    if name in OPENING_EVENTS:
        last_key = (conversation.last.at, conversation.last.event_id) if conversation.last else None
        if _newer(at, event.event_id, last_key):
            changed = replace(
                changed,
                state=CaseState.OPEN,
                last=LastMessage(event_id=event.event_id, name=name, at=at, text=_text(event)),
            )
            if conversation.state is CaseState.CLOSED:
                changed = replace(changed, opened_at=at, assigned_agent=None)
        changed = replace(changed, message_count=changed.message_count + 1)
    store_id = event.properties.get("store_id")
    if name == STORE_VISITED and isinstance(store_id, str) and store_id:
        changed = replace(changed, assigned_store=store_id)
    consent = consent_change(event)
    if consent is not None:
        current = (conversation.consent_at, "") if conversation.consent_at else None
        if _newer(consent[2], event.event_id, current):
            changed = replace(changed, consent=consent[0], consent_at=consent[2], consent_keyword=consent[1])
    return replace(changed, exists=True)


def link_to_open_case(
    before: Conversation, after: Conversation, event: CanonicalEvent, others: Iterable[Conversation]
) -> Conversation:
    """``after`` linked to the case it continues: the customer's newest open conversation on another channel.

    Only for ``LINKING_EVENTS`` that open the case or find it unlinked; a case reopened after being closed forgets
    its old link. Pure; ``others`` are the profile's stored conversations."""
    if event.name not in LINKING_EVENTS:
        return after
    reopened = not before.exists or before.state is CaseState.CLOSED
    if before.linked_conversation_id and not reopened:
        return after
    candidates = [
        other
        for other in others
        if other.state is CaseState.OPEN
        and other.contact.channel is not after.contact.channel
        and other.conversation_id != after.conversation_id
    ]
    if not candidates:
        return replace(after, linked_conversation_id=None, handed_off_from=None) if reopened else after
    newest = max(candidates, key=lambda other: (other.last.at if other.last else "", other.conversation_id))
    return replace(after, linked_conversation_id=newest.conversation_id, handed_off_from=newest.contact.channel)


def summary(conversation: Conversation) -> dict[str, Any]:
    """What an agent sees of a conversation (the contact's identifier included: agents only)."""
    last = conversation.last
    return {
        "conversation_id": conversation.conversation_id,
        "channel": conversation.contact.channel.value,
        "contact": f"{conversation.contact.kind.value}:{conversation.contact.value}",
        "state": conversation.state.value,
        "profile_id": conversation.profile_id,
        "opened_at": conversation.opened_at,
        "message_count": conversation.message_count,
        "last_message": (
            {"event_id": last.event_id, "name": last.name, "at": last.at, "text": last.text} if last else None
        ),
        "assigned_agent": conversation.assigned_agent,
        "assigned_store": conversation.assigned_store,
        "consent": conversation.consent.value if conversation.consent else None,
        "linked_conversation_id": conversation.linked_conversation_id,
        "handed_off_from": conversation.handed_off_from.value if conversation.handed_off_from else None,
    }
