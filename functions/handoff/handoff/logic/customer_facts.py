"""What the online-to-store decision knows about a customer: the profile's identifiers and traits (with the time
each trait was set) and the customer's conversations (for their consent). Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handoff.logic.conversations import Consent, Conversation
from omnichannel.canonical_event import Channel


@dataclass(frozen=True)
class CustomerFacts:
    profile_id: str
    identifiers: dict[str, list[str]]
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, str] = field(default_factory=dict)  # trait -> when it was last set (ISO 8601 UTC)
    conversations: list[Conversation] = field(default_factory=list)


def conversation_consent(conversation: Conversation) -> tuple[Channel, bool, str] | None:
    """``(channel, opted_in, at)`` when the conversation recorded a consent change."""
    if conversation.consent is None or not conversation.consent_at:
        return None
    return conversation.contact.channel, conversation.consent is Consent.OPTED_IN, conversation.consent_at
