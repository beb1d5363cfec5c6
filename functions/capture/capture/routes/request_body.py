"""The raw HTTP body as API Gateway hands it over: base64 when binary, gzip when the client compressed it.

Runs before the resolver so that routes see plain JSON text. Decompression is bounded: a gzip bomb stops at
the limit instead of filling memory.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from capture.routes.errors import CaptureError

# Nothing the tracking API or a webhook accepts is larger than this once decompressed.
MAX_DECOMPRESSED_BYTES = 1024 * 1024


def header(event: dict[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value if isinstance(value, str) else None


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CaptureError(400, "invalid_body", "the body is not valid base64") from exc
    return body.encode() if isinstance(body, str) else bytes(body)


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    decompressor = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CaptureError(400, "invalid_body", "Content-Encoding is gzip but the body is not gzip data") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise CaptureError(413, "payload_too_large", f"the decompressed body is larger than {limit} bytes")
    if not decompressor.eof or decompressor.unused_data:
        raise CaptureError(400, "invalid_body", "the gzip body is truncated or has data after its end")
    return out


def decoded_body(event: dict[str, Any]) -> bytes:
    """The request body as the client meant it: base64 and gzip undone."""
    data = raw_body(event)
    encoding = (header(event, "content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        data = gunzip(data)
    elif encoding not in ("", "identity"):
        raise CaptureError(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported")
    if len(data) > MAX_DECOMPRESSED_BYTES:
        raise CaptureError(413, "payload_too_large", f"the body is larger than {MAX_DECOMPRESSED_BYTES} bytes")
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


def with_plain_body(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` whose body is the decoded text; the raw bytes stay available for signature checks."""
    data = decoded_body(event)
    plain = without_trailing_slash(dict(event))
    plain["rawBodyBytes"] = data
    try:
        plain["body"] = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaptureError(400, "invalid_body", "the body is not UTF-8 text") from exc
    plain["isBase64Encoded"] = False
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-encoding"}
    plain["headers"] = headers
    return plain
