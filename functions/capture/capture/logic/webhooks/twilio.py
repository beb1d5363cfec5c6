"""Twilio SMS and voice webhooks (form POSTs) → canonical events.

SMS (``MessageSid, From, To, Body, NumMedia, MediaContentType0..``) → ``track "Message Received"`` on channel
``sms`` with identifier ``phone`` (From, E.164); ``message_id`` is the MessageSid. A message that arrives through
Twilio's WhatsApp sender (``From: whatsapp:+90...``) is channel ``whatsapp`` with both ``whatsapp`` and ``phone``.

Consent: a body that is exactly an opt-out keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; any case,
surrounding blanks and trailing punctuation ignored) sets ``properties.opt_out = true``; START / UNSTOP set
``properties.opt_in = true``. Twilio's own ``OptOutType`` parameter (Advanced Opt-Out) is honoured too. The
handoff function reads these before sending anything. (``YES``, an opt-in word for Twilio, is deliberately not
one here: it is also an ordinary answer to a question.)

Voice (``CallSid, From, To, CallStatus, Direction, CallDuration``) → channel ``phone``, identifier ``phone`` of
the customer (``From`` of an inbound call, ``To`` of an outbound one):

- ``queued / initiated / ringing / in-progress`` → ``"Call Started"``, ``message_id = <CallSid>:started``;
- ``completed / busy / no-answer / failed / canceled`` (the call is over, whatever the outcome; like Twilio's own
  ``completed`` status-callback event) → ``"Call Completed"`` with ``call_status`` and ``duration_seconds``,
  ``message_id = <CallSid>:completed``.

So a call is at most one start and one end, however many progress callbacks Twilio sends or retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from capture.logic.capture_service import IncomingEvent
from capture.logic.event_builder import IdentifierCollector, build_event
from capture.logic.webhooks.mapping import Mapped, MappingContext, raw_json
from omnichannel.canonical_event import Channel, EventType
from omnichannel.channel_replies import keyword_of
from omnichannel.identifiers import IdentifierType

SOURCE = "twilio"
MESSAGE_RECEIVED = "Message Received"
CALL_STARTED = "Call Started"
CALL_COMPLETED = "Call Completed"

CALL_STARTED_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress"})
CALL_ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
_WHATSAPP_PREFIX = "whatsapp:"
_MAX_MEDIA = 10
_MAX_KEYWORD_LENGTH = 20


def consent_keyword(body: str | None, opt_out_type: str | None = None) -> tuple[str, str] | None:
    """``("opt_out" | "opt_in", KEYWORD)`` when the message is a consent keyword, else None."""
    word = (body or "").strip().rstrip(".!").strip().upper()
    declared = (opt_out_type or "").strip().upper()
    if declared in ("STOP", "START"):  # Twilio recognised a keyword (perhaps a custom or translated one)
        keyword = word if 0 < len(word) <= _MAX_KEYWORD_LENGTH else declared
        return ("opt_out" if declared == "STOP" else "opt_in"), keyword
    found = keyword_of(word)
    return (("opt_in" if found[0] else "opt_out"), found[1]) if found else None


_COUNT = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() also accepts "²", which int() refuses


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if _COUNT.fullmatch(text) else None


def _address(value: str | None) -> tuple[str | None, bool]:
    """A Twilio address without its channel prefix, and whether it was a WhatsApp address."""
    text = (value or "").strip()
    if text.lower().startswith(_WHATSAPP_PREFIX):
        return text[len(_WHATSAPP_PREFIX) :] or None, True
    return text or None, False


def map_sms(params: Mapping[str, str], context: MappingContext) -> Mapped:
    """An inbound SMS (or Twilio WhatsApp message) as ``Message Received``."""
    mapped = Mapped()
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not sid:
        mapped.ignored += 1
        return mapped
    sender, via_whatsapp = _address(params.get("From"))
    recipient, _ = _address(params.get("To"))
    identifiers = IdentifierCollector(default_region=context.default_region)
    if via_whatsapp:
        identifiers.add(IdentifierType.WHATSAPP, sender, "From")
    identifiers.add(IdentifierType.PHONE, sender, "From")
    body = params.get("Body")
    num_media = _int(params.get("NumMedia")) or 0
    media_types = [params.get(f"MediaContentType{index}") for index in range(min(num_media, _MAX_MEDIA))]
    properties: dict[str, Any] = {
        "provider": SOURCE,
        "provider_message_id": sid,
        "message_type": "media" if num_media else "text",
        "text": body if body else None,
        "media_count": num_media or None,
        "media_types": [kind for kind in media_types if kind] or None,
        "to": recipient,
        "messaging_service_sid": params.get("MessagingServiceSid") or None,
    }
    consent = consent_keyword(body, params.get("OptOutType"))
    if consent is not None:
        kind, keyword = consent
        properties[kind] = True
        properties["consent_keyword"] = keyword
    event = build_event(
        source=SOURCE,
        message_id=sid,
        event_type=EventType.TRACK,
        name=MESSAGE_RECEIVED,
        channel=Channel.WHATSAPP if via_whatsapp else Channel.SMS,
        identifiers=identifiers.found,
        received_at=context.received_at,
        properties=properties,
    )
    mapped.events.append(IncomingEvent(event=event, raw=raw_json(dict(params))))
    mapped.dropped_identifiers.extend(identifiers.dropped)
    return mapped


def _callback_time(value: str | None) -> datetime | None:
    """Twilio's ``Timestamp`` (RFC 2822, status callbacks only), or None."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def map_voice(params: Mapping[str, str], context: MappingContext) -> Mapped:
    """A voice webhook or status callback as ``Call Started`` / ``Call Completed``."""
    mapped = Mapped()
    sid = (params.get("CallSid") or "").strip()
    status = (params.get("CallStatus") or "").strip().lower()
    if not sid or status not in CALL_STARTED_STATUSES | CALL_ENDED_STATUSES:
        mapped.ignored += 1
        return mapped
    ended = status in CALL_ENDED_STATUSES
    direction = (params.get("Direction") or "").strip().lower() or None
    outbound = bool(direction and direction.startswith("outbound"))
    customer_field = "To" if outbound else "From"
    business_field = "From" if outbound else "To"
    identifiers = IdentifierCollector(default_region=context.default_region)
    identifiers.add(IdentifierType.PHONE, _address(params.get(customer_field))[0], customer_field)
    properties: dict[str, Any] = {
        "provider": SOURCE,
        "call_sid": sid,
        "call_status": status,
        "direction": direction,
        "business_number": _address(params.get(business_field))[0],
        "duration_seconds": _int(params.get("CallDuration")) if ended else None,
        "answered_by": params.get("AnsweredBy") or None,
    }
    stage = "completed" if ended else "started"
    event = build_event(
        source=SOURCE,
        message_id=f"{sid}:{stage}",
        event_type=EventType.TRACK,
        name=CALL_COMPLETED if ended else CALL_STARTED,
        channel=Channel.PHONE,
        identifiers=identifiers.found,
        occurred_at=_callback_time(params.get("Timestamp")),
        received_at=context.received_at,
        properties=properties,
    )
    mapped.events.append(IncomingEvent(event=event, raw=raw_json(dict(params))))
    mapped.dropped_identifiers.extend(identifiers.dropped)
    return mapped
