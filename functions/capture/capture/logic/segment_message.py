"""Segment tracking-API messages → canonical events.

Each message is validated on its own, so one bad message in a batch is reported and the others are kept.
Identifiers are normalised (shared/omnichannel/identifiers.py); a placeholder or malformed identifier is dropped,
and a message left with neither a valid userId nor a valid anonymousId is refused, naming the field.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from capture.logic.capture_service import IncomingEvent
from capture.logic.channel_detection import detect_channel
from capture.logic.clock_skew import corrected_occurred_at
from capture.logic.event_builder import IdentifierCollector
from capture.models.segment import (
    EARLIEST_EVENT,
    MAX_AHEAD,
    MAX_CANONICAL_BYTES,
    MAX_MESSAGE_BYTES,
    SegmentMessage,
)
from capture.secrets import WriteKeySource
from omnichannel import counted_figures
from omnichannel.canonical_event import CanonicalEvent, EventType, event_id_for
from omnichannel.identifiers import (
    TRAIT_IDENTIFIERS,
    IdentifierType,
    InvalidIdentifier,
    normalize,
    normalize_text_id,
)
from omnichannel.json_input import body_path

# Where identifiers other than userId / anonymousId hide in a Segment message, besides context.externalIds.
_TRAIT_IDENTIFIERS = TRAIT_IDENTIFIERS
_EXTERNAL_ID_TYPES = {identifier_type.value: identifier_type for identifier_type in IdentifierType} | {
    "loyaltyCard": IdentifierType.LOYALTY_CARD,
    "posCustomerId": IdentifierType.POS_CUSTOMER,
    "phone_number": IdentifierType.PHONE,
}


@dataclass(frozen=True)
class MessageProblem:
    field: str
    message: str


@dataclass(frozen=True)
class BatchDefaults:
    """What a batch says for all its messages, and what the request says about where it came from."""

    source: WriteKeySource
    received_at: datetime
    sent_at: datetime | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    default_phone_region: str = "TR"
    earliest: datetime = EARLIEST_EVENT  # /v1/import: EARLIEST_IMPORTED_EVENT


def _problems(error: ValidationError, prefix: str) -> list[MessageProblem]:
    """Pydantic's errors as body paths (the one rule); a union's members (``userId.str``) become one field."""
    messages: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        field = body_path(item["loc"], prefix)
        messages.setdefault(field, [])
        if item["msg"] not in messages[field]:
            messages[field].append(item["msg"])
    return [MessageProblem(field=field, message=" or ".join(found)) for field, found in messages.items()]


def _identifiers(
    message: SegmentMessage, context: dict[str, Any], region: str
) -> tuple[dict[IdentifierType, str], list[MessageProblem]]:
    collector = IdentifierCollector(default_region=region)
    add = collector.add
    add(IdentifierType.USER_ID, message.userId, "userId")
    add(IdentifierType.ANONYMOUS_ID, message.anonymousId, "anonymousId")
    device = context.get("device")
    if isinstance(device, dict):
        add(IdentifierType.DEVICE_ID, device.get("id"), "context.device.id")
    context_traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    for location, bag in (("traits", message.traits), ("context.traits", context_traits)):
        for key, identifier_type in _TRAIT_IDENTIFIERS.items():
            if isinstance(bag, dict) and key in bag:
                add(identifier_type, bag[key], f"{location}.{key}")
    if message.type == "track" and "email" in message.properties:
        add(IdentifierType.EMAIL, message.properties["email"], "properties.email")
    external_ids = context.get("externalIds")
    if isinstance(external_ids, list):
        for position, external in enumerate(external_ids):
            if isinstance(external, dict) and external.get("type") in _EXTERNAL_ID_TYPES:
                add(_EXTERNAL_ID_TYPES[external["type"]], external.get("id"), f"context.externalIds.{position}.id")
    dropped = [MessageProblem(field=item.field, message=item.reason) for item in collector.dropped]
    return collector.found, dropped


def _cleaned_id(
    field: str, value: str | int | None, prefix: str, *, required: bool
) -> tuple[str | None, list[MessageProblem]]:
    """A ``groupId`` / ``previousId`` through the shared cleaning; absent is fine unless the call needs it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (
            [MessageProblem(field=f"{prefix}{field}", message=f"this call needs a {field}")] if required else []
        )
    try:
        if field == "previousId":
            return normalize(IdentifierType.ANONYMOUS_ID, value), []
        return normalize_text_id(field, value), []
    except InvalidIdentifier as exc:
        return None, [MessageProblem(field=f"{prefix}{field}", message=exc.reason)]


def _message_id(message: SegmentMessage, raw: dict[str, Any]) -> str:
    """The SDK's messageId; without one, a digest of the content when it carries its own timestamp (so a resend
    is still recognised), else a fresh id (nothing to recognise a resend by)."""
    if message.messageId:
        return message.messageId
    if message.timestamp is not None:
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
        return f"content-{digest[:32]}"
    return f"generated-{uuid.uuid4()}"


def _outside_window(occurred_at: datetime, defaults: BatchDefaults) -> str | None:
    """Why an event is refused for when it happened (after the clock-skew correction), or None."""
    if occurred_at < defaults.earliest:
        older = " (historical events go to /v1/import)" if defaults.earliest == EARLIEST_EVENT else ""
        return f"happened before {defaults.earliest:%Y-%m-%d}{older}"
    if occurred_at > defaults.received_at + MAX_AHEAD:
        return "happened more than a day after it was received"
    return None


def to_canonical(
    raw: Any, defaults: BatchDefaults, *, forced_type: str | None = None, prefix: str = ""
) -> IncomingEvent | list[MessageProblem]:
    """One Segment message as a canonical event, or the problems that make it unacceptable. Never raises: a
    message nobody foresaw (nested too deep to serialise, say) is refused on its own, not with its batch."""
    try:
        return _to_canonical(raw, defaults, forced_type=forced_type, prefix=prefix)
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        return [MessageProblem(field=prefix.rstrip(".") or "body", message=f"could not be read ({type(exc).__name__})")]


def _to_canonical(
    raw: Any, defaults: BatchDefaults, *, forced_type: str | None, prefix: str
) -> IncomingEvent | list[MessageProblem]:
    if not isinstance(raw, dict):
        return [MessageProblem(field=prefix.rstrip(".") or "body", message="must be a JSON object")]
    if forced_type is not None:
        declared = raw.get("type")
        if declared is not None and declared != forced_type:
            return [MessageProblem(field=f"{prefix}type", message=f"must be {forced_type!r} on this path")]
        raw = {**raw, "type": forced_type}
    text = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        return [MessageProblem(field=prefix.rstrip(".") or "body", message="larger than 32 KB")]
    try:
        message = SegmentMessage.model_validate(raw)
    except ValidationError as error:
        return _problems(error, prefix)

    problems = []
    if message.type == "track" and not (message.event and message.event.strip()):
        problems.append(MessageProblem(field=f"{prefix}event", message="a track call needs an event name"))
    if message.type == "track" and message.event:
        # an order's amount and currency, a survey's score: what the KPIs could never count is refused here
        for field, why in counted_figures.problems(message.event.strip(), message.properties):
            problems.append(MessageProblem(field=f"{prefix}properties.{field}", message=why))
    group_id, problem = _cleaned_id("groupId", message.groupId, prefix, required=message.type == "group")
    problems += problem
    # alias: previousId is the id being linked (an anonymous id, or an earlier user id): the same cleaning and
    # placeholder rule as anonymousId, so two strangers' ``alias {previousId: "anonymous"}`` link nothing.
    previous_id, problem = _cleaned_id("previousId", message.previousId, prefix, required=message.type == "alias")
    problems += problem

    context = {**(defaults.context or {}), **message.context}
    identifiers, dropped = _identifiers(message, context, defaults.default_phone_region)
    if IdentifierType.USER_ID not in identifiers and IdentifierType.ANONYMOUS_ID not in identifiers:
        bad = [problem for problem in dropped if problem.field in ("userId", "anonymousId")]
        if bad:
            problems.extend(MessageProblem(field=f"{prefix}{p.field}", message=p.message) for p in bad)
        else:
            problems.append(MessageProblem(field=f"{prefix}userId", message="either userId or anonymousId is required"))
    if problems:
        return problems

    properties = message.properties
    if message.category and "category" not in properties:  # page(category, name): keep Segment's category
        properties = {**properties, "category": message.category}
    sent_at = message.sentAt or defaults.sent_at
    original = message.originalTimestamp or message.timestamp
    occurred_at = corrected_occurred_at(defaults.received_at, original, sent_at)
    too_far = _outside_window(occurred_at, defaults)
    if too_far:
        field = "originalTimestamp" if message.originalTimestamp else "timestamp"
        return [MessageProblem(field=f"{prefix}{field}", message=too_far)]
    channel = detect_channel(
        message.type,
        segment_channel=message.channel,
        context=context,
        properties=properties,
        write_key_channel=defaults.source.channel,
    )
    message_id = _message_id(message, raw)
    event_type = EventType(message.type)
    name = message.event if event_type is EventType.TRACK else message.name
    event = CanonicalEvent(
        event_id=event_id_for(defaults.source.source, message_id),
        message_id=message_id,
        source=defaults.source.source,
        type=event_type,
        name=name.strip() if name else None,
        channel=channel,
        identifiers=identifiers,
        provenance=defaults.source.provenance,
        previous_id=previous_id,
        group_id=group_id,
        occurred_at=occurred_at,
        received_at=defaults.received_at,
        sent_at=sent_at,
        original_timestamp=original,
        properties=properties,
        traits=message.traits,
        context=context,
    )
    canonical = event.model_dump_json(exclude_none=True)
    if len(canonical.encode()) > MAX_CANONICAL_BYTES:
        return [MessageProblem(field=prefix.rstrip(".") or "body", message="larger than 64 KB with the batch context")]
    return IncomingEvent(event=event, raw=text, canonical_json=canonical)
