"""Inbound messages on the channels a provider delivers (WhatsApp, SMS, Messenger, Instagram, phone calls): who may
speak for a customer there, and the consent replies (``STOP`` / ``START``) such a message carries.

Only a signed provider webhook, or a server-side write key (a back office relaying calls), speaks for a customer
on these channels. A client write key is public: a "WhatsApp reply" it sends is the claim of anyone who knows the
number. Capture stores it like any analytics (it shows in the timeline of whoever it names), but it joins no
conversation an agent reads as the customer's, changes no consent and answers no survey (handoff, journeys).

A reply's time is capped at when capture received it: a message dated in the future must not outrank the
customer's next real ``STOP``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omnichannel.canonical_event import CanonicalEvent, Channel
from omnichannel.identifiers import Provenance

MESSAGE_RECEIVED = "Message Received"
PROVIDER_CHANNELS = frozenset({Channel.WHATSAPP, Channel.SMS, Channel.MESSENGER, Channel.INSTAGRAM, Channel.PHONE})
CONSENT_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})


@dataclass(frozen=True)
class ConsentReplyMessage:
    """A ``STOP`` (``opted_in=False``) or ``START`` reply: its keyword, and when (never after its receipt)."""

    opted_in: bool
    keyword: str
    at: datetime


def speaks_for_customer(event: CanonicalEvent) -> bool:
    """Whether the event may stand for the customer's own message on its channel."""
    return event.channel not in PROVIDER_CHANNELS or event.provenance is Provenance.VERIFIED


def keyword_of(text: object) -> tuple[bool, str] | None:
    """``(opted_in, KEYWORD)`` when the text is a consent keyword (``"stop."`` too), else None."""
    word = text.strip().rstrip(".!").strip().upper() if isinstance(text, str) else ""
    if word in OPT_OUT_KEYWORDS:
        return False, word
    if word in OPT_IN_KEYWORDS:
        return True, word
    return None


def consent_reply(event: CanonicalEvent) -> ConsentReplyMessage | None:
    """The consent reply of an inbound SMS or WhatsApp message: capture's flags (Twilio's), else the text itself
    (the WhatsApp Cloud API flags nothing). None for any other event, and for a message a client key claims."""
    if event.name != MESSAGE_RECEIVED or event.channel not in CONSENT_CHANNELS or not speaks_for_customer(event):
        return None
    at = min(event.occurred_at, event.received_at)
    keyword = str(event.properties.get("consent_keyword") or "").upper()
    if event.properties.get("opt_out") is True:
        return ConsentReplyMessage(False, keyword or "STOP", at)
    if event.properties.get("opt_in") is True:
        return ConsentReplyMessage(True, keyword or "START", at)
    found = keyword_of(event.properties.get("text"))
    return ConsentReplyMessage(found[0], found[1], at) if found else None
