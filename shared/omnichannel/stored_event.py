"""How capture's events table keeps a canonical event: its JSON, zlib-compressed, in the binary ``event`` attribute
(a typical web event's 1.3 KB of JSON takes about 0.65 KB, so the whole item stays under the 1 KB of one write
unit). Shared by capture (writes and its stream), the timeline (reads) and erasure.

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
