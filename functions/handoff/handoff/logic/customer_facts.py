"""The consent replies of a customer's conversations, as the reachability rules read them
(``omnichannel.reachability``: the same rules a store offer follows). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from handoff.logic.conversations import Consent, Conversation
from omnichannel.reachability import ConsentReply


def conversation_consent(conversation: Conversation) -> ConsentReply | None:
    """The conversation's recorded consent change, if it has one."""
    if conversation.consent is None or not conversation.consent_at:
        return None
    return ConsentReply(conversation.contact.channel, conversation.consent is Consent.OPTED_IN, conversation.consent_at)


def consent_replies(conversations: Iterable[Conversation]) -> list[ConsentReply]:
    return [reply for reply in map(conversation_consent, conversations) if reply is not None]
