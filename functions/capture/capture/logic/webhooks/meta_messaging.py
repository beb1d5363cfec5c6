"""Messenger and Instagram messaging webhooks → canonical events (one shape, two channels).

Payload (``object: page`` for Messenger, ``object: instagram`` for Instagram)::

    entry[] {id, time, messaging[] | standby[]: {
        sender: {id},              # Messenger: the customer's page-scoped id (PSID); Instagram: IGSID
        recipient: {id},           # our Page / Instagram professional account
        timestamp,                 # milliseconds
        message: {mid, text, attachments[]: {type, payload}, quick_reply: {payload}, reply_to: {mid},
                  is_echo, is_deleted, is_unsupported}
        | postback: {mid, title, payload}
        | delivery | read | reaction | optin | referral ...}}

Instagram may also deliver a message as ``entry[].changes[] {field: "messages", value: <the same object>}``.

- a customer message (or postback: a button the customer pressed) → ``track "Message Received"`` on channel
  ``messenger`` / ``instagram`` with identifier ``messenger`` (PSID) / ``instagram`` (IGSID); ``message_id`` is the
  ``mid``, so Meta's retries are the same event;
- echoes (messages our page sent), deleted messages, deliveries, reads, reactions and the rest: ignored.
"""

from __future__ import annotations

from typing import Any

from capture.logic.capture_service import IncomingEvent
from capture.logic.event_builder import IdentifierCollector, build_event, from_unix
from capture.logic.webhooks.mapping import Mapped, MappingContext, as_dict, as_dicts, as_text, raw_json
from omnichannel.canonical_event import Channel, EventType
from omnichannel.identifiers import IdentifierType

MESSAGE_RECEIVED = "Message Received"

# channel → (the payload's "object", the identifier type of the sender, the property naming our account)
_CHANNELS: dict[Channel, tuple[str, IdentifierType, str]] = {
    Channel.MESSENGER: ("page", IdentifierType.MESSENGER, "page_id"),
    Channel.INSTAGRAM: ("instagram", IdentifierType.INSTAGRAM, "instagram_account_id"),
}


def _message_type(message: dict[str, Any]) -> str:
    if message.get("is_unsupported"):
        return "unsupported"
    attachments = as_dicts(message.get("attachments"))
    if attachments:
        return as_text(attachments[0].get("type")) or "attachment"
    if message.get("sticker_id") is not None:
        return "sticker"
    return "text" if as_text(message.get("text")) else "unknown"


def _message_properties(item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The provider message id and properties of a customer message or postback; None for anything else."""
    message = as_dict(item.get("message"))
    if message:
        mid = as_text(message.get("mid"))
        if mid is None or message.get("is_echo") or message.get("is_deleted"):
            return None
        attachments = as_dicts(message.get("attachments"))
        return mid, {
            "message_type": _message_type(message),
            "text": as_text(message.get("text")),
            "attachment_types": [as_text(a.get("type")) or "unknown" for a in attachments] or None,
            "quick_reply_payload": as_text(as_dict(message.get("quick_reply")).get("payload")),
            "reply_to_message_id": as_text(as_dict(message.get("reply_to")).get("mid")),
        }
    postback = as_dict(item.get("postback"))
    if postback:
        mid = as_text(postback.get("mid"))
        if mid is None:
            return None
        return mid, {
            "message_type": "postback",
            "text": as_text(postback.get("title")),
            "postback_payload": as_text(postback.get("payload")),
        }
    return None


def _event(
    item: dict[str, Any], channel: Channel, context: MappingContext
) -> tuple[IncomingEvent, IdentifierCollector] | None:
    found = _message_properties(item)
    if found is None:
        return None
    mid, message_properties = found
    _, identifier_type, account_property = _CHANNELS[channel]
    identifiers = IdentifierCollector(default_region=context.default_region)
    identifiers.add(identifier_type, as_text(as_dict(item.get("sender")).get("id")), "sender.id")
    properties: dict[str, Any] = {
        "provider": channel.value,
        "provider_message_id": mid,
        **message_properties,
        account_property: as_text(as_dict(item.get("recipient")).get("id")),
    }
    event = build_event(
        source=channel.value,
        message_id=mid,
        event_type=EventType.TRACK,
        name=MESSAGE_RECEIVED,
        channel=channel,
        identifiers=identifiers.found,
        occurred_at=from_unix(item.get("timestamp")),
        received_at=context.received_at,
        properties=properties,
    )
    return IncomingEvent(event=event, raw=raw_json(item)), identifiers


def _messaging_items(entry: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The messaging objects of an entry, wherever it carries them, and how many other changes it had."""
    items = as_dicts(entry.get("messaging")) + as_dicts(entry.get("standby"))
    other = 0
    for change in as_dicts(entry.get("changes")):
        value = as_dict(change.get("value"))
        if change.get("field") == "messages" and value:
            items.append(value)
        else:
            other += 1
    return items, other


def map_meta_messaging(payload: Any, channel: Channel, context: MappingContext) -> Mapped:
    """Every customer message in a Messenger or Instagram notification, as canonical events."""
    if channel not in _CHANNELS:
        raise ValueError(f"{channel} is not a Meta messaging channel")
    expected_object = _CHANNELS[channel][0]
    mapped = Mapped()
    if not isinstance(payload, dict) or payload.get("object") != expected_object:
        mapped.ignored += 1
        return mapped
    for entry in as_dicts(payload.get("entry")):
        items, other = _messaging_items(entry)
        mapped.ignored += other
        for item in items:
            mapped.add(_event(item, channel, context))
    return mapped


def map_messenger(payload: Any, context: MappingContext) -> Mapped:
    return map_meta_messaging(payload, Channel.MESSENGER, context)


def map_instagram(payload: Any, context: MappingContext) -> Mapped:
    return map_meta_messaging(payload, Channel.INSTAGRAM, context)
