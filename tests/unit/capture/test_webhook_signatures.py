"""Webhook signatures: each provider's scheme accepted as the provider computes it, anything else refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from twilio.request_validator import RequestValidator

from capture.logic.signatures import (
    SignatureError,
    meta_signature,
    meta_verify_token_matches,
    pos_signature,
    twilio_signature,
    twilio_url_variants,
    verify_meta_signature,
    verify_pos_signature,
    verify_twilio_signature,
)

TWILIO_TOKEN = "dev-twilio-auth-token"
TWILIO_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/webhooks/twilio/sms"
TWILIO_PARAMS = {
    "MessageSid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "From": "+905321234567",
    "To": "+908501234567",
    "Body": "Siparişim nerede? 100% & ok=yes",
    "NumMedia": "0",
    "MediaUrl0": "",
}
META_SECRET = "dev-meta-app-secret"
POS_SECRET = "dev-pos-secret"
STORE = "ist-kadikoy-01"
NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _reason(error: pytest.ExceptionInfo[SignatureError]) -> str:
    return error.value.reason


# ---------------------------------------------------------------- Twilio


def test_twilio_signature_from_twilios_own_validator_is_accepted():
    # Given a request signed by the twilio package's RequestValidator (what Twilio's servers compute)
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, TWILIO_PARAMS)

    # When / Then our verifier accepts it (no exception)
    verify_twilio_signature(TWILIO_TOKEN, [TWILIO_URL], list(TWILIO_PARAMS.items()), signature)


def test_twilio_signature_matches_twilios_documented_example():
    # Given Twilio's documented example (auth token 12345, a voice request with a query string)
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }

    # When we compute the signature (parameters deliberately unsorted)
    signature = twilio_signature("12345", url, reversed(list(params.items())))

    # Then it is the documented value, which is also what Twilio's SDK computes
    assert signature == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signature == RequestValidator("12345").compute_signature(url, params)


def test_twilio_signature_with_the_default_port_is_accepted_either_way():
    # Given Twilio signed the URL with an explicit :443 (it does, inconsistently)
    signed_url = TWILIO_URL.replace(".com/", ".com:443/")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(signed_url, TWILIO_PARAMS)

    # When / Then the URL we rebuild without the port still verifies
    verify_twilio_signature(TWILIO_TOKEN, [TWILIO_URL], list(TWILIO_PARAMS.items()), signature)
    assert twilio_url_variants(TWILIO_URL)[1] == signed_url


@pytest.mark.parametrize(
    ("token", "url", "params"),
    [
        pytest.param("another-token", TWILIO_URL, TWILIO_PARAMS, id="wrong auth token"),
        pytest.param(TWILIO_TOKEN, TWILIO_URL + "?x=1", TWILIO_PARAMS, id="another URL"),
        pytest.param(TWILIO_TOKEN, TWILIO_URL, {**TWILIO_PARAMS, "Body": "STOP"}, id="tampered parameter"),
        pytest.param(TWILIO_TOKEN, TWILIO_URL, {**TWILIO_PARAMS, "Extra": "1"}, id="added parameter"),
    ],
)
def test_twilio_signature_of_anything_else_is_refused(token, url, params):
    # Given a signature Twilio would have computed for the original request
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, TWILIO_PARAMS)

    # When the request we verify differs in any way
    with pytest.raises(SignatureError) as error:
        verify_twilio_signature(token, [url], list(params.items()), signature)

    # Then it is refused as an invalid signature
    assert _reason(error) == SignatureError.INVALID


def test_twilio_request_without_signature_or_token_is_refused():
    # Given a form without its X-Twilio-Signature header / a deployment without an auth token
    params = list(TWILIO_PARAMS.items())

    # When / Then both are refused, each with its own reason
    with pytest.raises(SignatureError) as missing:
        verify_twilio_signature(TWILIO_TOKEN, [TWILIO_URL], params, None)
    with pytest.raises(SignatureError) as unconfigured:
        verify_twilio_signature("", [TWILIO_URL], params, "c2lnbmF0dXJl")
    assert _reason(missing) == SignatureError.MISSING
    assert _reason(unconfigured) == SignatureError.NOT_CONFIGURED


# ---------------------------------------------------------------- Meta


def test_meta_signature_computed_as_meta_documents_is_accepted():
    # Given a body and its signature per Meta's documentation: sha256=HMAC-SHA256(app secret, raw payload) in hex
    body = b'{"object":"page","entry":[{"id":"1","messaging":[]}],"text":"\\u00e7"}'
    header = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()

    # When / Then it verifies, also with upper-case hex; our signer writes the same header
    verify_meta_signature(META_SECRET, body, header)
    verify_meta_signature(META_SECRET, body, "sha256=" + header.removeprefix("sha256=").upper())
    assert meta_signature(META_SECRET, body) == header


@pytest.mark.parametrize(
    ("body", "header_body", "secret", "reason"),
    [
        pytest.param(b'{"a":2}', b'{"a":1}', META_SECRET, SignatureError.INVALID, id="tampered body"),
        pytest.param(b'{"a":1}', b'{"a":1}', "another-secret", SignatureError.INVALID, id="wrong secret"),
        pytest.param(b'{"a":1} ', b'{"a":1}', META_SECRET, SignatureError.INVALID, id="re-serialised body"),
    ],
)
def test_meta_signature_of_other_bytes_is_refused(body, header_body, secret, reason):
    # Given Meta's signature of one body
    header = meta_signature(META_SECRET, header_body)

    # When another body (or another secret) is verified
    with pytest.raises(SignatureError) as error:
        verify_meta_signature(secret, body, header)

    # Then it is refused
    assert _reason(error) == reason


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param(None, SignatureError.MISSING, id="missing"),
        pytest.param("  ", SignatureError.MISSING, id="blank"),
        pytest.param("sha1=0123abcd", SignatureError.MALFORMED, id="legacy sha1 header only"),
        pytest.param("sha256=zz", SignatureError.INVALID, id="not hex"),
    ],
)
def test_meta_signature_header_missing_or_malformed_is_refused(header, reason):
    # Given / When a request whose X-Hub-Signature-256 is absent or not a sha256 digest
    with pytest.raises(SignatureError) as error:
        verify_meta_signature(META_SECRET, b"{}", header)

    # Then it is refused with the matching reason
    assert _reason(error) == reason


def test_meta_signature_without_app_secret_is_refused():
    # Given a deployment whose app secret is not configured, even a "signature" of the empty key is refused
    body = b"{}"
    with pytest.raises(SignatureError) as error:
        verify_meta_signature("", body, meta_signature("", body))
    assert _reason(error) == SignatureError.NOT_CONFIGURED


@pytest.mark.parametrize(
    ("expected", "mode", "token", "matches"),
    [
        ("dev-verify-token", "subscribe", "dev-verify-token", True),
        ("dev-verify-token", "subscribe", "dev-verify-tokeN", False),
        ("dev-verify-token", "unsubscribe", "dev-verify-token", False),
        ("dev-verify-token", "subscribe", None, False),
        ("", "subscribe", "", False),
    ],
)
def test_meta_verify_token(expected, mode, token, matches):
    # Given / When / Then only hub.mode=subscribe with our (configured) token matches
    assert meta_verify_token_matches(expected, mode, token) is matches


# ---------------------------------------------------------------- POS


def _pos_headers(body: bytes, at: datetime, secret: str = POS_SECRET, store_id: str = STORE) -> tuple[str, str]:
    # The documented scheme, computed here independently of capture's code: b"<timestamp>.<store_id>." + body
    timestamp = str(int(at.timestamp()))
    signed = f"{timestamp}.{store_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest(), timestamp


def test_pos_signature_within_the_window_is_accepted():
    # Given a body signed by the store four minutes ago (and one signed 4 minutes "ahead" by a fast clock)
    body = b'{"type":"visit","transaction_id":"V-1"}'
    past = _pos_headers(body, NOW - timedelta(minutes=4))
    future = _pos_headers(body, NOW + timedelta(minutes=4))

    # When / Then both verify; our signer agrees with the documented scheme
    verify_pos_signature(POS_SECRET, STORE, body, *past, now=NOW)
    verify_pos_signature(POS_SECRET, STORE, body, *future, now=NOW)
    assert pos_signature(POS_SECRET, past[1], STORE, body) == past[0]


@pytest.mark.parametrize(
    ("signed_at", "reason"),
    [
        pytest.param(NOW - timedelta(seconds=301), SignatureError.STALE, id="older than five minutes"),
        pytest.param(NOW + timedelta(seconds=301), SignatureError.STALE, id="more than five minutes ahead"),
    ],
)
def test_pos_signature_outside_the_window_is_refused(signed_at, reason):
    # Given a correctly signed request whose timestamp is outside the replay window
    body = b'{"type":"visit","transaction_id":"V-1"}'
    signature, timestamp = _pos_headers(body, signed_at)

    # When it is verified now
    with pytest.raises(SignatureError) as error:
        verify_pos_signature(POS_SECRET, STORE, body, signature, timestamp, now=NOW)

    # Then it is refused as stale
    assert _reason(error) == reason


def test_pos_timestamp_cannot_be_refreshed_without_the_secret():
    # Given an old signed request whose attacker replaces the timestamp header with a fresh one
    body = b'{"type":"sale","transaction_id":"T-1"}'
    signature, _ = _pos_headers(body, NOW - timedelta(hours=1))
    fresh_timestamp = str(int(NOW.timestamp()))

    # When it is verified
    with pytest.raises(SignatureError) as error:
        verify_pos_signature(POS_SECRET, STORE, body, signature, fresh_timestamp, now=NOW)

    # Then the signature no longer matches (the timestamp is part of what is signed)
    assert _reason(error) == SignatureError.INVALID


@pytest.mark.parametrize(
    ("secret", "body", "signature_timestamp", "reason"),
    [
        pytest.param(None, b"{}", None, SignatureError.NOT_CONFIGURED, id="unknown store"),
        pytest.param(POS_SECRET, b'{"x":2}', None, SignatureError.INVALID, id="tampered body"),
        pytest.param("another-secret", b"{}", None, SignatureError.INVALID, id="another store's secret"),
        pytest.param(POS_SECRET, b"{}", ("sha256=00", None), SignatureError.MISSING, id="no timestamp"),
        pytest.param(POS_SECRET, b"{}", (None, "1767258000"), SignatureError.MISSING, id="no signature"),
        pytest.param(POS_SECRET, b"{}", ("sha256=00", "-5"), SignatureError.MALFORMED, id="timestamp not digits"),
        pytest.param(POS_SECRET, b"{}", ("sha256=00", "²"), SignatureError.MALFORMED, id="superscript digit"),
        pytest.param(
            POS_SECRET, b"{}", ("sha256=00", "١٧٦٧٢٥٨٠٠٠"), SignatureError.MALFORMED, id="Arabic-Indic digits"
        ),
        pytest.param(POS_SECRET, b"{}", ("sha256=00", "1" * 13), SignatureError.MALFORMED, id="too long"),
        pytest.param(POS_SECRET, b"{}", ("md5=00", "1767258000"), SignatureError.MALFORMED, id="not sha256"),
    ],
)
def test_pos_signature_refusals(secret, body, signature_timestamp, reason):
    # Given a request signed for b"{}" with the development secret, altered as the case says
    signature, timestamp = signature_timestamp or _pos_headers(b"{}", NOW)

    # When it is verified
    with pytest.raises(SignatureError) as error:
        verify_pos_signature(secret, STORE, body, signature, timestamp, now=NOW)

    # Then it is refused with the matching reason
    assert _reason(error) == reason


def test_pos_signature_covers_the_store_id():
    # Given a request signed for one store, with a secret every store shares (the development wildcard "*")
    body = b'{"type":"sale","transaction_id":"T-1"}'
    signature, timestamp = _pos_headers(body, NOW, store_id="store-1")

    # When it is verified for another store's path
    with pytest.raises(SignatureError) as error:
        verify_pos_signature(POS_SECRET, "store-2", body, signature, timestamp, now=NOW)

    # Then it is refused (the store id is inside the signed bytes), while the store it was signed for accepts it
    assert _reason(error) == SignatureError.INVALID
    verify_pos_signature(POS_SECRET, "store-1", body, signature, timestamp, now=NOW)
