"""Webhook signatures: each provider's own scheme, every comparison in constant time (``hmac.compare_digest``).

A request whose signature is missing or wrong is refused before its body is even parsed; nothing is stored.
The verifiers raise ``SignatureError`` with a short machine-readable reason (safe to log: it holds no secret and
no part of the request).

Meta (WhatsApp Cloud API, Messenger, Instagram)
    ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>``. The GET
    subscription handshake sends ``hub.mode=subscribe`` and ``hub.verify_token``, which must equal ours.

Twilio (SMS, voice)
    ``X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + every POST parameter as name + value, sorted by
    name))``; a parameter sent several times contributes each value, sorted. The URL is the one Twilio called,
    query string included. Twilio is not consistent about writing the default port, so the URL is accepted
    both with and without ``:443`` / ``:80`` (as Twilio's own SDKs do).

POS / store systems (our own scheme, modelled on Stripe's and Slack's)
    ``X-Pos-Timestamp: <unix seconds>`` and ``X-Pos-Signature: sha256=<hex HMAC-SHA256>`` of the bytes
    ``f"{timestamp}.{store_id}.".encode() + raw_body``, keyed with the store's secret (``pos_secrets[store_id]``),
    ``store_id`` being the one in the path ``/webhooks/pos/{store_id}``. The timestamp is inside the signed bytes,
    so it cannot be changed without the secret; a request whose timestamp is more than five minutes away from our
    clock (either way) is refused, so a captured request cannot be replayed later. The store id is inside them
    too, so a request cannot be replayed to another store's path even where stores share a secret (the
    development wildcard ``*``): the event id includes the store id, so such a replay would otherwise be a new
    sale. Within the window a replay to the same path changes nothing: the event id comes from the store and
    transaction ids, and capture de-duplicates on it. The timestamp must be ASCII digits (``[0-9]{1,12}``).
    The signed bytes split one way only: the timestamp has no ``.``, and a store id (``STORE_ID`` in
    routes/webhooks.py) neither whitespace nor ``{``, with which the body, a JSON object, begins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import SplitResult, urlsplit, urlunsplit

META_SIGNATURE_HEADER = "X-Hub-Signature-256"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
POS_SIGNATURE_HEADER = "X-Pos-Signature"
POS_TIMESTAMP_HEADER = "X-Pos-Timestamp"
POS_TOLERANCE_SECONDS = 300
_POS_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also accepts "²" and "٣"
_SHA256_PREFIX = "sha256="


class SignatureError(Exception):
    """The request is not provably from the provider. ``reason`` is one of the constants below."""

    MISSING = "missing_signature"
    INVALID = "invalid_signature"
    MALFORMED = "malformed_signature"
    NOT_CONFIGURED = "secret_not_configured"
    STALE = "stale_timestamp"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _hex_hmac_sha256(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def _sha256_header_digest(header: str | None, header_name: str) -> str:
    """The hex digest of a ``sha256=<hex>`` header, lower-cased."""
    if not header or not header.strip():
        raise SignatureError(SignatureError.MISSING, f"{header_name} is missing")
    value = header.strip()
    if not value.lower().startswith(_SHA256_PREFIX):
        raise SignatureError(SignatureError.MALFORMED, f"{header_name} must be sha256=<hex digest>")
    return value[len(_SHA256_PREFIX) :].strip().lower()


# ---------------------------------------------------------------- Meta


def meta_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    return _SHA256_PREFIX + _hex_hmac_sha256(app_secret, body)


def verify_meta_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless ``header`` is Meta's signature of exactly these ``body`` bytes."""
    if not app_secret:
        raise SignatureError(SignatureError.NOT_CONFIGURED, "the Meta app secret is not configured")
    given = _sha256_header_digest(header, META_SIGNATURE_HEADER)
    expected = _hex_hmac_sha256(app_secret, body)
    if not hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii")):
        raise SignatureError(SignatureError.INVALID, f"{META_SIGNATURE_HEADER} does not match the body")


def meta_verify_token_matches(expected_token: str, mode: str | None, token: str | None) -> bool:
    """The GET subscription handshake: ``hub.mode=subscribe`` and our verify token, compared in constant time."""
    if not expected_token or mode != "subscribe" or token is None:
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8"))


# ---------------------------------------------------------------- Twilio


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a form POST to ``url`` (documented algorithm, as Twilio's SDKs compute it)."""
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _with_netloc(parts: SplitResult, netloc: str) -> str:
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def twilio_url_variants(url: str) -> list[str]:
    """``url`` as given, without its port, and with the scheme's default port: Twilio signs either spelling."""
    parts = urlsplit(url)
    variants = [url]
    try:
        port = parts.port
    except ValueError:
        return variants
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if port is not None:
        variants.append(_with_netloc(parts, prefix + host))
    else:
        default_port = 443 if parts.scheme == "https" else 80
        variants.append(_with_netloc(parts, f"{prefix}{host}:{default_port}"))
    return variants


def verify_twilio_signature(
    auth_token: str, urls: Sequence[str], params: Sequence[tuple[str, str]], header: str | None
) -> None:
    """Raise SignatureError unless ``header`` signs ``params`` for one of ``urls`` (each with its port variants)."""
    if not auth_token:
        raise SignatureError(SignatureError.NOT_CONFIGURED, "the Twilio auth token is not configured")
    if not header or not header.strip():
        raise SignatureError(SignatureError.MISSING, f"{TWILIO_SIGNATURE_HEADER} is missing")
    given = header.strip().encode("ascii", "replace")
    matched = False
    for url in urls:
        for variant in twilio_url_variants(url):
            expected = twilio_signature(auth_token, variant, params).encode("ascii")
            # No early exit: every candidate costs the same, whichever one matches.
            matched |= hmac.compare_digest(given, expected)
    if not matched:
        raise SignatureError(SignatureError.INVALID, f"{TWILIO_SIGNATURE_HEADER} does not match the request")


# ---------------------------------------------------------------- POS


def pos_signed_bytes(timestamp: str, store_id: str, body: bytes) -> bytes:
    """What a store signs: ``f"{timestamp}.{store_id}."`` (UTF-8) followed by the raw body bytes."""
    return f"{timestamp}.{store_id}.".encode() + body


def pos_signature(secret: str, timestamp: int | str, store_id: str, body: bytes) -> str:
    """The ``X-Pos-Signature`` value a store system sends to ``/webhooks/pos/{store_id}`` with
    ``X-Pos-Timestamp: timestamp``."""
    return _SHA256_PREFIX + _hex_hmac_sha256(secret, pos_signed_bytes(str(timestamp), store_id, body))


def verify_pos_signature(
    secret: str | None,
    store_id: str,
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    *,
    now: datetime,
    tolerance_seconds: int = POS_TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless the store signed ``timestamp.store_id.body`` with its secret within the time
    window."""
    if not secret:
        raise SignatureError(SignatureError.NOT_CONFIGURED, "unknown store: no signing secret for it")
    given = _sha256_header_digest(signature_header, POS_SIGNATURE_HEADER)
    timestamp = (timestamp_header or "").strip()
    if not timestamp:
        raise SignatureError(SignatureError.MISSING, f"{POS_TIMESTAMP_HEADER} is missing")
    if not _POS_TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(SignatureError.MALFORMED, f"{POS_TIMESTAMP_HEADER} must be unix seconds")
    expected = _hex_hmac_sha256(secret, pos_signed_bytes(timestamp, store_id, body))
    if not hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii")):
        raise SignatureError(SignatureError.INVALID, f"{POS_SIGNATURE_HEADER} does not match the request")
    # Checked after the signature, so that only a genuine (signed) timestamp is reported as stale.
    if abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        raise SignatureError(
            SignatureError.STALE, f"{POS_TIMESTAMP_HEADER} is more than {tolerance_seconds} seconds from our clock"
        )
