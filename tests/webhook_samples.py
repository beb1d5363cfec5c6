"""The sample webhook requests in events/webhooks/: API Gateway HTTP API (payload 2.0) events, each signed the way
its provider signs, with the development secrets of local_runtime/dev-config.json.

This module is their single source: the files are generated from it, and a test checks that they still match, so
payloads, secrets and signatures cannot drift apart. The signatures are computed here independently of the
capture code (Meta's and the POS scheme with ``hmac``; Twilio's with the ``twilio`` package's own
``RequestValidator``), so the handler tests that replay these files prove interoperability, not self-agreement.

    .venv/bin/python -m tests.webhook_samples               # rewrite events/webhooks/*.json
    .venv/bin/python -m tests.webhook_samples --fresh-pos   # print pos_sale.json signed now, for sam local invoke

The POS scheme refuses a timestamp more than five minutes old, so the committed ``pos_sale.json`` (signed at
``POS_SAMPLE_TIMESTAMP``) is accepted only by a clock near that moment: the tests inject one through
``capture.wiring.override(clock=...)``; for ``sam local invoke`` print a freshly signed copy with ``--fresh-pos``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "events" / "webhooks"
DEV_CONFIG = ROOT / "local_runtime" / "dev-config.json"

API_ID = "a1b2c3d4e5"
HOST = f"{API_ID}.execute-api.eu-west-1.amazonaws.com"
SAMPLE_TIME = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POS_SAMPLE_TIMESTAMP = int(SAMPLE_TIME.timestamp())
POS_STORE_ID = "ist-kadikoy-01"

WA_ID = "905321234567"
WHATSAPP_MESSAGE_ID = "wamid.HBgMOTA1MzIxMjM0NTY3FQIAEhgUM0VCMDRBN0I2QjY5QjE5RTNEQUQA"
WHATSAPP_OUTBOUND_ID = "wamid.HBgMOTA1MzIxMjM0NTY3FQIAERgSQjM4RjQ0QzY3NDJBMzE0RkE5AA=="
PSID = "6543210987654321"
MESSENGER_MID = "m_Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789abcdefGHIJKL"
IGSID = "1234567890123456"
INSTAGRAM_MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAwOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1"
SMS_SID = "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CALL_SID = "CA1b2c3d4e5f60718293a4b5c6d7e8f901"
ACCOUNT_SID = "AC00112233445566778899aabbccddeeff"
CUSTOMER_PHONE = "+905321234567"
BUSINESS_PHONE = "+908501234567"


def dev_secrets() -> dict[str, Any]:
    secrets: dict[str, Any] = json.loads(DEV_CONFIG.read_text())["secrets"]["CaptureSecrets"]
    return secrets


def meta_app_secret() -> str:
    return str(dev_secrets()["meta_app_secret"])


def twilio_auth_token() -> str:
    return str(dev_secrets()["twilio_auth_token"])


def pos_secret(store_id: str = POS_STORE_ID) -> str:
    secrets: dict[str, str] = dev_secrets()["pos_secrets"]
    return secrets.get(store_id) or secrets["*"]


# ---------------------------------------------------------------- API Gateway HTTP API events


def http_api_event(
    method: str,
    path: str,
    *,
    body: str = "",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    route_path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    time: datetime = SAMPLE_TIME,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as the Lambda integration delivers it."""
    route_key = f"{method} {route_path or path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query) if query else "",
        "headers": {
            "host": HOST,
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-forwarded-for": "203.0.113.10",
            "x-amzn-trace-id": "Root=1-695637f0-0a1b2c3d4e5f60718293a4b5",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": HOST,
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": (headers or {}).get("user-agent", "curl/8.5.0"),
            },
            "requestId": "Xz9Y8w7V6u5T4s3=",
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.timestamp() * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


# ---------------------------------------------------------------- Meta


def meta_signature(body: bytes, app_secret: str | None = None) -> str:
    """Per Meta's documentation: sha256=<hex HMAC-SHA256 of the payload bytes, keyed with the app secret>."""
    key = (app_secret or meta_app_secret()).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def meta_event(path: str, payload: dict[str, Any], *, app_secret: str | None = None) -> dict[str, Any]:
    # Meta posts compact JSON with non-ASCII characters escaped; the signature covers exactly these bytes.
    body = json.dumps(payload, separators=(",", ":"))
    headers = {
        "content-type": "application/json",
        "user-agent": "facebookexternalua",
        "x-hub-signature-256": meta_signature(body.encode(), app_secret),
    }
    return http_api_event("POST", path, body=body, headers=headers)


def meta_verify_event(path: str, token: str | None = None, challenge: str = "1158201444") -> dict[str, Any]:
    verify_token = token if token is not None else str(dev_secrets()["meta_verify_token"])
    query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    return http_api_event("GET", path, query=query, headers={"user-agent": "facebookplatform/1.0"})


def whatsapp_message_payload(
    message_id: str = WHATSAPP_MESSAGE_ID, text: str = "Merhaba, siparişim ne zaman gelir?"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "908501234567", "phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Ayşe Yılmaz"}, "wa_id": WA_ID}],
                            "messages": [
                                {
                                    "from": WA_ID,
                                    "id": message_id,
                                    "timestamp": str(POS_SAMPLE_TIMESTAMP - 120),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def whatsapp_status_payload(status: str = "delivered") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "908501234567", "phone_number_id": "106540352242922"},
                            "statuses": [
                                {
                                    "id": WHATSAPP_OUTBOUND_ID,
                                    "status": status,
                                    "timestamp": str(POS_SAMPLE_TIMESTAMP - 60),
                                    "recipient_id": WA_ID,
                                    "conversation": {
                                        "id": "6ceb9d929c8f8bd3ac6e4a2c8a1c5fb1",
                                        "origin": {"type": "utility"},
                                    },
                                    "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def messenger_payload(mid: str = MESSENGER_MID, *, echo: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid, "text": "Kırmızı montun M bedeni var mı?"}
    sender, recipient = {"id": PSID}, {"id": "109876543210987"}
    if echo:
        message["is_echo"] = True
        message["app_id"] = 1517776481860111
        sender, recipient = recipient, sender
    return {
        "object": "page",
        "entry": [
            {
                "id": "109876543210987",
                "time": POS_SAMPLE_TIMESTAMP * 1000 - 29_000,
                "messaging": [
                    {
                        "sender": sender,
                        "recipient": recipient,
                        "timestamp": POS_SAMPLE_TIMESTAMP * 1000 - 30_000,
                        "message": message,
                    }
                ],
            }
        ],
    }


def instagram_payload(mid: str = INSTAGRAM_MID) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [
            {
                "id": "17841400000000000",
                "time": POS_SAMPLE_TIMESTAMP * 1000 - 44_000,
                "messaging": [
                    {
                        "sender": {"id": IGSID},
                        "recipient": {"id": "17841400000000000"},
                        "timestamp": POS_SAMPLE_TIMESTAMP * 1000 - 45_000,
                        "message": {
                            "mid": mid,
                            "attachments": [{"type": "image", "payload": {"url": "https://lookaside.fbsbx.com/ig/1"}}],
                        },
                    }
                ],
            }
        ],
    }


# ---------------------------------------------------------------- Twilio


def twilio_url(path: str) -> str:
    return f"https://{HOST}{path}"


def twilio_event(
    path: str, params: dict[str, str], *, auth_token: str | None = None, url: str | None = None
) -> dict[str, Any]:
    """A Twilio form POST, signed by the ``twilio`` package's RequestValidator."""
    signature = RequestValidator(auth_token or twilio_auth_token()).compute_signature(url or twilio_url(path), params)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "TwilioProxy/1.1",
        "i-twilio-idempotency-token": "5f8c3a4e-9b1d-4c7e-8a2f-1d3e5b7c9a0f",
        "x-twilio-signature": signature,
    }
    return http_api_event("POST", path, body=urlencode(params), headers=headers)


def twilio_sms_params(body: str = "Siparişim kargoya verildi mi?", sid: str = SMS_SID) -> dict[str, str]:
    return {
        "ToCountry": "TR",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": BUSINESS_PHONE,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER_PHONE,
        "FromCountry": "TR",
        "ApiVersion": "2010-04-01",
    }


def twilio_voice_params(status: str = "ringing", duration: str | None = None) -> dict[str, str]:
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL_SID,
        "CallStatus": status,
        "Called": BUSINESS_PHONE,
        "Caller": CUSTOMER_PHONE,
        "Direction": "inbound",
        "From": CUSTOMER_PHONE,
        "FromCountry": "TR",
        "To": BUSINESS_PHONE,
        "ToCountry": "TR",
    }
    if duration is not None:
        params["CallDuration"] = duration
        params["Timestamp"] = "Thu, 01 Jan 2026 08:59:50 +0000"
        params["CallbackSource"] = "call-progress-events"
        params["SequenceNumber"] = "0"
    return params


# ---------------------------------------------------------------- POS


def pos_sale_payload(transaction_id: str = "T-1001") -> dict[str, Any]:
    return {
        "type": "sale",
        "transaction_id": transaction_id,
        "occurred_at": "2026-01-01T11:58:30+03:00",
        "customer": {
            "loyalty_card": "LC-0042-1234",
            "pos_customer_id": "C-77812",
            "email": "Ayse.Yilmaz@Example.com",
            "phone": "0532 123 45 67",
        },
        "currency": "TRY",
        "total": "129.90",
        "tax": "21.65",
        "items": [
            {"sku": "TSHIRT-RED-M", "name": "Kırmızı tişört", "quantity": 1, "price": "89.90"},
            {"sku": "SOCKS-3P", "product_id": "P-3301", "name": "Çorap (3'lü)", "quantity": 2, "price": "20.00"},
        ],
    }


def pos_signature(body: bytes, timestamp: int, store_id: str = POS_STORE_ID, secret: str | None = None) -> str:
    """Our documented POS scheme: sha256=<hex HMAC-SHA256 of b"<timestamp>.<store_id>." + body, keyed with the
    store's secret>, store_id being the one in the path /webhooks/pos/<store_id>."""
    key = (secret or pos_secret(store_id)).encode()
    return "sha256=" + hmac.new(key, f"{timestamp}.{store_id}.".encode() + body, hashlib.sha256).hexdigest()


def pos_event(
    payload: dict[str, Any],
    *,
    store_id: str = POS_STORE_ID,
    timestamp: int = POS_SAMPLE_TIMESTAMP,
    secret: str | None = None,
) -> dict[str, Any]:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    headers = {
        "content-type": "application/json",
        "user-agent": "store-pos/4.2",
        "x-pos-timestamp": str(timestamp),
        "x-pos-signature": pos_signature(body.encode(), timestamp, store_id, secret),
    }
    return http_api_event(
        "POST",
        f"/webhooks/pos/{store_id}",
        body=body,
        headers=headers,
        route_path="/webhooks/pos/{store_id}",
        path_parameters={"store_id": store_id},
    )


# ---------------------------------------------------------------- the files


def samples() -> dict[str, dict[str, Any]]:
    """Every sample, by file name."""
    return {
        "whatsapp_verify.json": meta_verify_event("/webhooks/whatsapp"),
        "whatsapp_message.json": meta_event("/webhooks/whatsapp", whatsapp_message_payload()),
        "whatsapp_status.json": meta_event("/webhooks/whatsapp", whatsapp_status_payload()),
        "messenger_message.json": meta_event("/webhooks/messenger", messenger_payload()),
        "instagram_message.json": meta_event("/webhooks/instagram", instagram_payload()),
        "twilio_sms.json": twilio_event("/webhooks/twilio/sms", twilio_sms_params()),
        "twilio_voice.json": twilio_event("/webhooks/twilio/voice", twilio_voice_params()),
        "twilio_voice_completed.json": twilio_event(
            "/webhooks/twilio/voice", twilio_voice_params("completed", duration="184")
        ),
        "pos_sale.json": pos_event(pos_sale_payload()),
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def write_samples(directory: Path = SAMPLES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, event in samples().items():
        path = directory / name
        path.write_text(render(event), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="where to write the samples")
    parser.add_argument("--fresh-pos", action="store_true", help="print pos_sale.json signed with the current time")
    args = parser.parse_args(argv)
    if args.fresh_pos:
        now = int(datetime.now(UTC).timestamp())
        sys.stdout.write(render(pos_event(pos_sale_payload(), timestamp=now)))
        return 0
    for path in write_samples(args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
