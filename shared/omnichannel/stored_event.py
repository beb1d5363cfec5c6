"""How capture's events table keeps a canonical event: compact, and its JSON zlib-compressed in the binary ``event``
attribute. Shared by capture (writes and its stream), the timeline (reads) and erasure.

Compact: everything of the canonical event except the parts of ``context`` that no consumer and no timeline reads
(the browser's user agent and client hints, the IP address, device, OS, screen and network details, the page as
the SDK saw it): ``context`` keeps only ``KEPT_CONTEXT``. The event on the bus is this stored form (the table's
stream is the outbox); the data lake keeps the message as it arrived and its full canonical form. A typical web
event's 1.3 KB of canonical JSON becomes about 0.4 KB stored, so an item stays well under one write unit (1 KB).

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
    return {"B": zlib.compress(canonical_json.encode("utf-8"), COMPRESSION_LEVEL)}


def event_json(value: Mapping[str, Any]) -> str:
    """The canonical JSON an ``event`` attribute value holds (``{"B": ...}`` or, for older items, ``{"S": ...}``)."""
    if "S" in value:
        return str(value["S"])
    data = value["B"]
    raw = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    return zlib.decompress(raw).decode("utf-8")


def decode_event(item: Mapping[str, Any]) -> CanonicalEvent:
    """The canonical event of a stored item or of a stream record's image (same attribute-value shape)."""
    return CanonicalEvent.model_validate_json(event_json(item[EVENT_ATTRIBUTE]))
