"""How capture's events table keeps a canonical event: compact, and its JSON zlib-compressed in the binary ``event``
attribute. Shared by capture (writes and its stream), the timeline (reads) and erasure.

Compact: everything of the canonical event except the parts of ``context`` that no consumer and no timeline reads
(the browser's user agent and client hints, the IP address, device, OS, screen and network details, the page as
the SDK saw it): ``context`` keeps only ``KEPT_CONTEXT``. The event on the bus is this stored form (the table's
stream is the outbox); the data lake keeps the message as it arrived and its full canonical form.

Compressed: zlib with a preset dictionary of the canonical event's own field names and common values
(``DICTIONARIES``), so even a short event compresses well: a typical web event's 1.3 KB of canonical JSON becomes
about 0.25 KB stored, and an item stays well under one write unit (1 KB). A stored value names its dictionary
(zlib's header carries its checksum), so a dictionary is never changed, only a new one added and used for new
writes; values compressed without one (and older items' JSON strings) read as well.

Items written before compression hold the JSON as a string; :func:`decode_event` reads both, and a binary value as
boto3 returns it (bytes) or as a Lambda stream event carries it (base64 text).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from typing import Any

from omnichannel.canonical_event import CanonicalEvent

EVENT_ATTRIBUTE = "event"
COMPRESSION_LEVEL = 6
# The preset dictionary of version 1. Never edit it: stored events name it by its checksum. Add a new one instead.
DICTIONARY_V1 = (
    b'"event_id":"","message_id":"","source":"","type":"track","name":"","channel":"web","identifiers":{'
    b'"anonymous_id":"","user_id":"","email":"","phone":"","device_id":""},"occurred_at":"2026-","received_at":"'
    b'2026-","sent_at":"2026-","original_timestamp":"2026-","properties":{"product_id":"","sku":"","name":"",'
    b'"category":"","price":,"quantity":,"currency":"TRY","revenue":,"order_id":"","path":"/","url":"https://",'
    b'"title":""},"traits":{"email":"","phone":"","name":""},"context":{"library":{"name":"analytics.js",'
    b'"version":""},"locale":"tr-TR","campaign":{"source":"","medium":"","name":""},"timezone":"Europe/Istanbul"}}'
)
DICTIONARIES = {zlib.adler32(dictionary): dictionary for dictionary in (DICTIONARY_V1,)}
WRITE_DICTIONARY = DICTIONARY_V1
_PRESET_DICTIONARY_FLAG = 0x20  # FDICT, in the second byte of a zlib header
# What consumers read of ``context``: traits (profiles), campaign (first touch), the channel as the client stated it,
# the SDK (library), the customer's locale and time zone, group and external ids.
KEPT_CONTEXT = frozenset({"traits", "campaign", "channel", "library", "locale", "timezone", "groupId", "externalIds"})


def compact(event: CanonicalEvent) -> CanonicalEvent:
    """The event as the events table (and so the bus) keeps it: ``context`` reduced to ``KEPT_CONTEXT``."""
    kept = {name: value for name, value in event.context.items() if name in KEPT_CONTEXT}
    return event if len(kept) == len(event.context) else event.model_copy(update={"context": kept})


def compact_json(event: CanonicalEvent) -> str:
    return compact(event).model_dump_json(exclude_none=True)


def encode_event(canonical_json: str) -> dict[str, bytes]:
    """The ``event`` attribute value of a canonical event's JSON."""
    compressor = zlib.compressobj(COMPRESSION_LEVEL, zdict=WRITE_DICTIONARY)
    return {"B": compressor.compress(canonical_json.encode("utf-8")) + compressor.flush()}


def _decompress(raw: bytes) -> bytes:
    if len(raw) > 6 and raw[1] & _PRESET_DICTIONARY_FLAG:
        dictionary = DICTIONARIES[int.from_bytes(raw[2:6], "big")]
        decompressor = zlib.decompressobj(zdict=dictionary)
        return decompressor.decompress(raw) + decompressor.flush()
    return zlib.decompress(raw)


def event_json(value: Mapping[str, Any]) -> str:
    """The canonical JSON an ``event`` attribute value holds (``{"B": ...}`` or, for older items, ``{"S": ...}``)."""
    if "S" in value:
        return str(value["S"])
    data = value["B"]
    raw = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    return _decompress(raw).decode("utf-8")


def decode_event(item: Mapping[str, Any]) -> CanonicalEvent:
    """The canonical event of a stored item or of a stream record's image (same attribute-value shape)."""
    return CanonicalEvent.model_validate_json(event_json(item[EVENT_ATTRIBUTE]))
