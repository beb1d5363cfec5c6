"""WhatsApp Cloud API ``messages`` webhook → canonical events.

Payload (``object: whatsapp_business_account``)::

    entry[].changes[] {field: "messages", value: {
        metadata: {display_phone_number, phone_number_id},         # our business number
        contacts[]: {wa_id, profile: {name}},                       # the customers in this notification
        messages[]: {from, id: "wamid...", timestamp, type, text: {body} | image: {caption, id} | ...},
        statuses[]: {id: "wamid...", status, timestamp, recipient_id, errors[]: {code, title}}}}

- each inbound message → ``track "Message Received"`` on channel ``whatsapp``; identifiers ``whatsapp`` (the
  wa_id) and ``phone`` (the same number in E.164), so the conversation joins the profile that has the phone;
  ``message_id`` is the wamid, so Meta's retries are the same event;
- each status of a message we sent → ``track "Message Status Updated"`` (sent / delivered / read / failed ...);
  ``message_id`` is ``<wamid>:<status>``, so each step is kept once;
- other change fields (account, template and quality updates) and ``system`` messages (a customer changed number)
  are not customer touchpoints: counted as ignored.
"""

from __future__ import annotations

from typing import Any

from capture.logic.capture_service import IncomingEvent
from capture.logic.event_builder import IdentifierCollector, build_event, from_unix
from capture.logic.webhooks.mapping import Mapped, MappingContext, as_dict, as_dicts, as_text, raw_json
from omnichannel.canonical_event import Channel, EventType
from omnichannel.identifiers import IdentifierType, whatsapp_id_to_phone

SOURCE = "whatsapp"
OBJECT = "whatsapp_business_account"
MESSAGE_RECEIVED = "Message Received"
MESSAGE_STATUS_UPDATED = "Message Status Updated"
_IGNORED_MESSAGE_TYPES = frozenset({"system"})
_MEDIA_TYPES = ("image", "video", "document", "audio", "sticker")


def _text_of(message: dict[str, Any], message_type: str) -> str | None:
    """The words of a message, whatever its type carries them in."""
    if message_type == "text":
        return as_text(as_dict(message.get("text")).get("body"))
    if message_type in _MEDIA_TYPES:
        return as_text(as_dict(message.get(message_type)).get("caption"))
    if message_type == "button":
        return as_text(as_dict(message.get("button")).get("text"))
    if message_type == "interactive":
        interactive = as_dict(message.get("interactive"))
        reply = as_dict(interactive.get("button_reply")) or as_dict(interactive.get("list_reply"))
        return as_text(reply.get("title"))
    if message_type == "reaction":
        return as_text(as_dict(message.get("reaction")).get("emoji"))
    return None


def _identifiers(wa_id: object, region: str, field_name: str) -> IdentifierCollector:
    collector = IdentifierCollector(default_region=region)
    collector.add(IdentifierType.WHATSAPP, wa_id, field_name)
    collector.add(IdentifierType.PHONE, wa_id, field_name, normalizer=whatsapp_id_to_phone)
    return collector


def _business(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "business_phone_number_id": as_text(metadata.get("phone_number_id")),
        "business_display_phone_number": as_text(metadata.get("display_phone_number")),
    }


def _message_event(
    message: dict[str, Any], names: dict[str, str], metadata: dict[str, Any], context: MappingContext
) -> tuple[IncomingEvent, IdentifierCollector] | None:
    wamid = as_text(message.get("id"))
    message_type = as_text(message.get("type")) or "unknown"
    if wamid is None or message_type in _IGNORED_MESSAGE_TYPES:
        return None
    wa_id = as_text(message.get("from"))
    identifiers = _identifiers(wa_id, context.default_region, "messages.from")
    referral = as_dict(message.get("referral"))
    properties: dict[str, Any] = {
        "provider": SOURCE,
        "provider_message_id": wamid,
        "message_type": message_type,
        "text": _text_of(message, message_type),
        "profile_name": names.get(wa_id) if wa_id else None,
        "reply_to_message_id": as_text(as_dict(message.get("context")).get("id")),
        "media_id": as_text(as_dict(message.get(message_type)).get("id")) if message_type in _MEDIA_TYPES else None,
        **_business(metadata),
    }
    if referral:  # the customer came from a click-to-WhatsApp ad
        properties["ad_referral"] = {
            key: referral[key] for key in ("source_type", "source_id", "source_url", "ctwa_clid") if key in referral
        }
    event = build_event(
        source=SOURCE,
        message_id=wamid,
        event_type=EventType.TRACK,
        name=MESSAGE_RECEIVED,
        channel=Channel.WHATSAPP,
        identifiers=identifiers.found,
        occurred_at=from_unix(message.get("timestamp")),
        received_at=context.received_at,
        properties=properties,
    )
    return IncomingEvent(event=event, raw=raw_json(message)), identifiers


def _status_event(
    status: dict[str, Any], metadata: dict[str, Any], context: MappingContext
) -> tuple[IncomingEvent, IdentifierCollector] | None:
    wamid = as_text(status.get("id"))
    state = as_text(status.get("status"))
    if wamid is None or state is None:
        return None
    state = state.strip().lower()
    identifiers = _identifiers(as_text(status.get("recipient_id")), context.default_region, "statuses.recipient_id")
    errors = [
        {"code": error.get("code"), "title": as_text(error.get("title"))} for error in as_dicts(status.get("errors"))
    ]
    properties: dict[str, Any] = {
        "provider": SOURCE,
        "provider_message_id": wamid,
        "status": state,
        "errors": errors or None,
        "pricing_category": as_text(as_dict(status.get("pricing")).get("category")),
        **_business(metadata),
    }
    event = build_event(
        source=SOURCE,
        message_id=f"{wamid}:{state}",
        event_type=EventType.TRACK,
        name=MESSAGE_STATUS_UPDATED,
        channel=Channel.WHATSAPP,
        identifiers=identifiers.found,
        occurred_at=from_unix(status.get("timestamp")),
        received_at=context.received_at,
        properties=properties,
    )
    return IncomingEvent(event=event, raw=raw_json(status)), identifiers


def map_whatsapp(payload: Any, context: MappingContext) -> Mapped:
    """Every customer message and delivery status in a WhatsApp notification, as canonical events."""
    mapped = Mapped()
    if not isinstance(payload, dict) or payload.get("object") != OBJECT:
        mapped.ignored += 1
        return mapped
    for entry in as_dicts(payload.get("entry")):
        for change in as_dicts(entry.get("changes")):
            value = as_dict(change.get("value"))
            if change.get("field") != "messages" or not value:
                mapped.ignored += 1
                continue
            metadata = as_dict(value.get("metadata"))
            names = {
                wa_id: name
                for contact in as_dicts(value.get("contacts"))
                if (wa_id := as_text(contact.get("wa_id")))
                and (name := as_text(as_dict(contact.get("profile")).get("name")))
            }
            results = [_message_event(message, names, metadata, context) for message in as_dicts(value.get("messages"))]
            results += [_status_event(status, metadata, context) for status in as_dicts(value.get("statuses"))]
            if not results:
                mapped.ignored += 1
            for result in results:
                mapped.add(result)
    return mapped
