"""What capture does to a request before routing, besides what every API does (shared ``omnichannel.http_api``):
undo ``Content-Encoding: gzip`` (bounded: a gzip bomb stops at the limit instead of filling memory), and route
``/v1/import/`` (analytics-java's default path) like ``/v1/import``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from omnichannel.http_api import ApiError, header

# Nothing the tracking API or a webhook accepts is larger than this once decompressed.
MAX_DECOMPRESSED_BYTES = 1024 * 1024


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    decompressor = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, "invalid_body", "Content-Encoding is gzip but the body is not gzip data", "body") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise ApiError(413, "payload_too_large", f"the decompressed body is larger than {limit} bytes", "body")
    if not decompressor.eof or decompressor.unused_data:
        raise ApiError(400, "invalid_body", "the gzip body is truncated or has data after its end", "body")
    return out


def decoded_body(event: Mapping[str, Any], data: bytes) -> bytes:
    """The request body as the client meant it: gzip undone (base64 is undone by the shared front door)."""
    encoding = (header(event, "content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        data = gunzip(data)
    elif encoding not in ("", "identity"):
        raise ApiError(
            415,
            "unsupported_encoding",
            f"Content-Encoding {encoding[:40]!r} is not supported",
            "header.content-encoding",
        )
    if len(data) > MAX_DECOMPRESSED_BYTES:
        raise ApiError(413, "payload_too_large", f"the body is larger than {MAX_DECOMPRESSED_BYTES} bytes", "body")
    return data


def without_trailing_slash(event: dict[str, Any]) -> dict[str, Any]:
    """``/v1/import/`` (analytics-java's default path) routes like ``/v1/import``."""
    path = event.get("rawPath")
    if not isinstance(path, str) or len(path) < 2 or not path.endswith("/"):
        return event
    trimmed = dict(event)
    trimmed["rawPath"] = path.rstrip("/") or "/"
    context = dict(event.get("requestContext") or {})
    http = dict(context.get("http") or {})
    if isinstance(http.get("path"), str):
        http["path"] = http["path"].rstrip("/") or "/"
    context["http"] = http
    trimmed["requestContext"] = context
    return trimmed
