"""The channel webhooks end to end through ``capture.handlers.api.lambda_handler``, driven by the signed sample events
in events/webhooks/ (the same files ``sam local invoke -e`` takes), with an in-memory store and publisher."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from capture import wiring
from capture.logic.capture_service import CaptureService, to_bus_event
from capture.models.pos import MAX_ITEMS
from capture.routes.webhooks import MAX_POS_BODY_BYTES
from capture.secrets import CaptureSecrets
from capture.settings import get_settings
from omnichannel.canonical_event import Channel
from omnichannel.event_bus import EventBridgePublisher, entry_size
from omnichannel.identifiers import IdentifierType
from tests import webhook_samples as samples
from tests.support.capture_harness import CaptureHarness, header_of, wired_capture
from tests.support.capture_harness import body_of as body_of_response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


Capture = CaptureHarness


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Capture wired to fakes, the development secrets, and a clock one minute after the samples were signed."""
    with wired_capture(samples.dev_secrets(), samples.SAMPLE_TIME + timedelta(minutes=1)) as harness:
        yield harness


@pytest.fixture
def public_base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = "https://api.example.com.tr"
    monkeypatch.setenv("PUBLIC_BASE_URL", url)
    get_settings.cache_clear()
    yield url
    monkeypatch.delenv("PUBLIC_BASE_URL")
    get_settings.cache_clear()


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((samples.SAMPLES_DIR / name).read_text(encoding="utf-8"))
    return event


body_of = body_of_response
header = header_of


# ---------------------------------------------------------------- the samples are in step with their generator


def test_sample_files_match_their_generator():
    # Given the committed sample events and what tests/webhook_samples.py generates today
    generated = {name: samples.render(event) for name, event in samples.samples().items()}
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in Path(samples.SAMPLES_DIR).glob("*.json")}

    # Then they are the same files (regenerate with: .venv/bin/python -m tests.webhook_samples)
    assert on_disk == generated


# ---------------------------------------------------------------- accepted, once


@pytest.mark.parametrize(
    ("name", "event_name", "channel", "identifiers"),
    [
        (
            "whatsapp_message.json",
            "Message Received",
            Channel.WHATSAPP,
            {IdentifierType.WHATSAPP: "905321234567", IdentifierType.PHONE: "+905321234567"},
        ),
        (
            "whatsapp_status.json",
            "Message Status Updated",
            Channel.WHATSAPP,
            {IdentifierType.WHATSAPP: "905321234567", IdentifierType.PHONE: "+905321234567"},
        ),
        ("messenger_message.json", "Message Received", Channel.MESSENGER, {IdentifierType.MESSENGER: samples.PSID}),
        ("instagram_message.json", "Message Received", Channel.INSTAGRAM, {IdentifierType.INSTAGRAM: samples.IGSID}),
        ("twilio_sms.json", "Message Received", Channel.SMS, {IdentifierType.PHONE: "+905321234567"}),
        ("twilio_voice.json", "Call Started", Channel.PHONE, {IdentifierType.PHONE: "+905321234567"}),
        ("twilio_voice_completed.json", "Call Completed", Channel.PHONE, {IdentifierType.PHONE: "+905321234567"}),
        (
            "pos_sale.json",
            "Order Completed",
            Channel.STORE,
            {
                IdentifierType.LOYALTY_CARD: "LC-0042-1234",
                IdentifierType.POS_CUSTOMER: "C-77812",
                IdentifierType.EMAIL: "ayse.yilmaz@example.com",
                IdentifierType.PHONE: "+905321234567",
            },
        ),
    ],
)
def test_signed_webhook_is_captured_and_published_once_even_when_resent(
    capture, name, event_name, channel, identifiers
):
    # Given a correctly signed provider request
    event = sample(name)

    # When the provider delivers it, then retries the very same request
    first = capture.invoke(event)
    retry = capture.invoke(event)

    # Then both are answered 200, and exactly one canonical event was stored and published
    assert (first["statusCode"], retry["statusCode"]) == (200, 200)
    assert len(capture.store.events) == 1
    stored = capture.store.events[0]
    assert (stored.name, stored.channel) == (event_name, channel)
    assert stored.identifiers == identifiers
    assert capture.published_ids() == [stored.event_id]
    assert capture.bus.events[0].detail_type == event_name


def test_meta_answers_with_a_json_summary(capture):
    # Given a WhatsApp notification delivered twice
    first = capture.invoke(sample("whatsapp_message.json"))
    retry = capture.invoke(sample("whatsapp_message.json"))

    # Then Meta gets a 200 JSON summary that tells the retry apart
    assert body_of(first) == {"success": True, "accepted": 1, "duplicates": 0, "ignored": 0}
    assert body_of(retry) == {"success": True, "accepted": 0, "duplicates": 1, "ignored": 0}


def test_twilio_is_answered_with_empty_twiml(capture):
    # Given / When an inbound SMS
    response = capture.invoke(sample("twilio_sms.json"))

    # Then Twilio gets a valid, empty TwiML document
    assert response["statusCode"] == 200
    assert response["body"] == TWIML
    assert (header(response, "content-type") or "").startswith("text/xml")


def test_voice_start_and_completion_of_one_call_are_both_kept(capture):
    # Given the initial voice webhook and the completion callback of the same call
    capture.invoke(sample("twilio_voice.json"))
    capture.invoke(sample("twilio_voice_completed.json"))

    # Then the call has one start and one completion
    assert sorted(event.name or "" for event in capture.store.events) == ["Call Completed", "Call Started"]
    assert len(capture.bus.events) == 2


def test_sms_stop_keyword_is_captured_as_an_opt_out(capture):
    # Given a signed SMS whose body is STOP
    event = samples.twilio_event("/webhooks/twilio/sms", samples.twilio_sms_params(body="Stop"))

    # When it is delivered
    response = capture.invoke(event)

    # Then the captured message carries the opt-out for the handoff function
    assert response["statusCode"] == 200
    assert capture.store.events[0].properties["opt_out"] is True


def test_base64_encoded_body_is_verified_on_its_decoded_bytes(capture):
    # Given API Gateway delivering the Messenger sample base64-encoded, and the POS sample gzip-compressed
    messenger = sample("messenger_message.json")
    messenger["body"] = base64.b64encode(messenger["body"].encode()).decode()
    messenger["isBase64Encoded"] = True
    pos = sample("pos_sale.json")
    pos["body"] = base64.b64encode(gzip.compress(pos["body"].encode())).decode()
    pos["isBase64Encoded"] = True
    pos["headers"]["content-encoding"] = "gzip"

    # When they are delivered
    responses = [capture.invoke(messenger), capture.invoke(pos)]

    # Then the signatures verify on the bytes the provider signed, and both events are captured
    assert [response["statusCode"] for response in responses] == [200, 200]
    assert len(capture.store.events) == 2


def test_echo_is_acknowledged_and_nothing_is_stored(capture):
    # Given a signed Messenger echo (a message our own page sent)
    event = samples.meta_event("/webhooks/messenger", samples.messenger_payload(echo=True))

    # When it is delivered
    response = capture.invoke(event)

    # Then Meta gets its 200 quickly, and nothing is captured
    assert response["statusCode"] == 200
    assert body_of(response)["ignored"] == 1
    assert capture.store.events == []
    assert capture.bus.events == []


# ---------------------------------------------------------------- refused: nothing stored


def _tamper_body(event: dict[str, Any]) -> dict[str, Any]:
    """Change one digit of the body (an id, a number, an amount), keeping it well-formed."""
    original = event["body"]
    event["body"] = original.replace("1", "2", 1)
    assert event["body"] != original
    return event


def _drop_header(name: str) -> Any:
    def drop(event: dict[str, Any]) -> dict[str, Any]:
        del event["headers"][name]
        return event

    return drop


@pytest.mark.parametrize(
    ("name", "alter", "reason"),
    [
        ("whatsapp_message.json", _tamper_body, "invalid_signature"),
        ("whatsapp_message.json", _drop_header("x-hub-signature-256"), "missing_signature"),
        ("messenger_message.json", _drop_header("x-hub-signature-256"), "missing_signature"),
        ("instagram_message.json", _tamper_body, "invalid_signature"),
        ("twilio_sms.json", _tamper_body, "invalid_signature"),
        ("twilio_sms.json", _drop_header("x-twilio-signature"), "missing_signature"),
        ("twilio_voice.json", _drop_header("x-twilio-signature"), "missing_signature"),
        ("pos_sale.json", _tamper_body, "invalid_signature"),
        ("pos_sale.json", _drop_header("x-pos-signature"), "missing_signature"),
        ("pos_sale.json", _drop_header("x-pos-timestamp"), "missing_signature"),
    ],
)
def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(capture, name, alter, reason):
    # Given a sample request whose body was changed after signing, or whose signature is missing
    event = alter(sample(name))

    # When it is delivered
    response = capture.invoke(event)

    # Then it is refused with 401, and neither stored nor published
    assert response["statusCode"] == 401
    assert body_of(response)["code"] == reason
    assert capture.store.events == []
    assert capture.bus.events == []


def test_meta_request_signed_with_another_app_secret_is_refused(capture):
    # Given a notification signed with someone else's app secret
    event = samples.meta_event("/webhooks/whatsapp", samples.whatsapp_message_payload(), app_secret="not-ours")

    # When / Then it is refused and nothing is stored
    assert capture.invoke(event)["statusCode"] == 401
    assert capture.store.events == []


def test_twilio_signature_for_another_url_is_refused(capture):
    # Given an SMS signed for the voice URL (a replay to another endpoint)
    params = samples.twilio_sms_params()
    event = samples.twilio_event("/webhooks/twilio/sms", params, url=samples.twilio_url("/webhooks/twilio/voice"))

    # When / Then it is refused
    assert capture.invoke(event)["statusCode"] == 401
    assert capture.store.events == []


def test_twilio_signature_is_checked_against_the_public_base_url(capture, public_base_url):
    # Given a custom domain: Twilio calls (and signs) https://api.example.com.tr/webhooks/twilio/sms
    params = samples.twilio_sms_params()
    signed_for_public = samples.twilio_event(
        "/webhooks/twilio/sms", params, url=f"{public_base_url}/webhooks/twilio/sms"
    )
    signed_for_gateway = samples.twilio_event("/webhooks/twilio/sms", params)

    # When both reach the function
    responses = [capture.invoke(signed_for_public), capture.invoke(signed_for_gateway)]

    # Then only the signature of the public URL is accepted
    assert [response["statusCode"] for response in responses] == [200, 401]
    assert len(capture.store.events) == 1


def test_twilio_signature_including_the_default_port_is_accepted(capture):
    # Given Twilio signing the URL with :443 written out
    url = f"https://{samples.HOST}:443/webhooks/twilio/sms"
    event = samples.twilio_event("/webhooks/twilio/sms", samples.twilio_sms_params(), url=url)

    # When / Then it is accepted
    assert capture.invoke(event)["statusCode"] == 200
    assert len(capture.store.events) == 1


# ---------------------------------------------------------------- POS: replay window, stores, validation


def test_pos_request_older_than_five_minutes_is_refused(capture):
    # Given the sample sale, signed at SAMPLE_TIME, arriving five minutes and one second later
    capture.clock[0] = samples.SAMPLE_TIME + timedelta(minutes=5, seconds=1)

    # When it is delivered
    response = capture.invoke(sample("pos_sale.json"))

    # Then it is refused as a possible replay, and nothing is stored
    assert response["statusCode"] == 401
    assert body_of(response)["code"] == "stale_timestamp"
    assert capture.store.events == []


def test_pos_request_freshly_signed_with_the_real_clock_is_accepted(capture):
    # Given the real clock, and the sample sale re-signed now (as `--fresh-pos` prints it for sam local invoke)
    capture.clock[0] = wiring.utc_now()
    event = samples.pos_event(samples.pos_sale_payload(), timestamp=int(capture.clock[0].timestamp()))

    # When / Then it is accepted
    assert capture.invoke(event)["statusCode"] == 200
    assert capture.store.events[0].name == "Order Completed"


def test_pos_unknown_store_is_refused(capture):
    # Given secrets that know only store s-1 (no development wildcard)
    wiring.override(
        service=CaptureService(capture.store),
        secrets=CaptureSecrets(pos_secrets={"s-1": "secret-of-s-1"}),
        clock=lambda: capture.clock[0],
    )
    event = samples.pos_event(samples.pos_sale_payload(), store_id="s-2", secret="secret-of-s-1")

    # When a request for another store arrives (even signed with a real store's secret)
    response = capture.invoke(event)

    # Then it is refused
    assert response["statusCode"] == 401
    assert capture.store.events == []


def test_pos_invalid_payload_is_refused_naming_the_field(capture):
    # Given a correctly signed sale without a currency and with a bad price
    payload = samples.pos_sale_payload()
    del payload["currency"]
    payload["items"][0]["price"] = "12,50"
    event = samples.pos_event(payload)

    # When it is delivered
    response = capture.invoke(event)

    # Then it is a 400 naming both fields, and nothing is stored
    assert response["statusCode"] == 400
    body = body_of(response)
    assert body["code"] == "invalid_request"
    assert {error["field"] for error in body["errors"]} == {"currency", "items.0.price"}
    assert capture.store.events == []


def test_pos_invalid_store_id_is_refused(capture):
    # Given a store id that is not one (path characters a store system would never use)
    event = samples.pos_event(samples.pos_sale_payload(), store_id="a%20b")

    # When / Then it is refused as a bad request
    response = capture.invoke(event)
    assert response["statusCode"] == 400
    assert body_of(response)["errors"][0]["field"] == "path.store_id"


def _to_store(event: dict[str, Any], store_id: str) -> dict[str, Any]:
    """The same request (headers, body, signature) sent to another store's path."""
    path = f"/webhooks/pos/{store_id}"
    event = {**event, "rawPath": path, "pathParameters": {"store_id": store_id}}
    event["requestContext"] = {**event["requestContext"], "http": {**event["requestContext"]["http"], "path": path}}
    return event


def test_pos_request_replayed_to_another_store_is_refused_and_nothing_more_is_stored(capture):
    # Given a captured signed sale of store ist-kadikoy-01, every store sharing one secret (the dev wildcard "*")
    original = sample("pos_sale.json")
    assert capture.invoke(original)["statusCode"] == 200

    # When the very same request is replayed, within the five minutes, to two other stores' paths
    replays = [capture.invoke(_to_store(original, store_id)) for store_id in ("store-2", "store-3")]

    # Then both are refused (the store id is signed), and the sale is still stored and published once
    assert [response["statusCode"] for response in replays] == [401, 401]
    assert {body_of(response)["code"] for response in replays} == {"invalid_signature"}
    assert len(capture.store.events) == 1
    assert capture.store.events[0].properties["store_id"] == samples.POS_STORE_ID
    assert len(capture.bus.events) == 1


@pytest.mark.parametrize("timestamp", ["²", "1767258000²", "١٧٦٧٢٥٨٠٠٠"])
def test_pos_timestamp_that_is_not_ascii_digits_is_refused_and_nothing_is_stored(capture, timestamp):
    # Given the sample sale whose X-Pos-Timestamp holds digits str.isdigit() accepts but that are not ASCII
    event = sample("pos_sale.json")
    event["headers"]["x-pos-timestamp"] = timestamp

    # When it is delivered
    response = capture.invoke(event)

    # Then it is a malformed signature (401), not a server error, and nothing is stored
    assert response["statusCode"] == 401
    assert body_of(response)["code"] == "malformed_signature"
    assert capture.store.events == []


def _padded_sale(size: int) -> dict[str, Any]:
    """The sample sale padded with an (ignored) extra field so that its body is exactly ``size`` bytes."""
    payload = samples.pos_sale_payload()
    payload["note"] = ""
    padding = size - len(_pos_body(payload))
    assert padding >= 0
    payload["note"] = "x" * padding
    assert len(_pos_body(payload)) == size
    return payload


def _pos_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()  # as samples.pos_event sends


def test_pos_body_over_128_kb_is_refused_with_413_and_nothing_is_stored(capture):
    # Given a correctly signed sale of 129 KB
    event = samples.pos_event(_padded_sale(129 * 1024))

    # When it is delivered
    response = capture.invoke(event)

    # Then it is refused as too large, naming the limit, and nothing is stored
    assert response["statusCode"] == 413
    body = body_of(response)
    assert (body["success"], body["code"]) == (False, "payload_too_large")
    assert "128 KB" in body["message"]
    assert capture.store.events == []
    assert capture.bus.events == []


def test_pos_body_of_exactly_128_kb_is_accepted(capture):
    # Given a correctly signed sale of exactly 128 KB
    event = samples.pos_event(_padded_sale(128 * 1024))

    # When / Then it is captured
    assert capture.invoke(event)["statusCode"] == 200
    assert len(capture.store.events) == 1


# ---------------------------------------------------------------- POS: the largest valid sale fits the storage

FOUR_BYTES = "\U0001f6d2"  # one character, four bytes of UTF-8: the most bytes a character-counted limit allows
DYNAMODB_ITEM_LIMIT = 400 * 1024
EVENTBRIDGE_ENTRY_LIMIT = 256 * 1024


def _largest_valid_sale(*, with_product_ids: bool) -> dict[str, Any]:
    """A valid sale of at most 128 KB built to make the stored item and the bus entry as large as possible: every
    field at its limit in four-byte characters, as many items as fit (each item without a product_id has its sku
    repeated as product_id in the event), then the items' texts until the body is full."""
    payload: dict[str, Any] = {
        "type": "sale",
        "transaction_id": FOUR_BYTES * 128,
        "occurred_at": "2026-01-01T08:59:00+00:00",
        "customer": {
            "loyalty_card": "A" * 256,
            "pos_customer_id": FOUR_BYTES * 256,
            "email": "a" * 64 + "@" + "b" * 60 + ".com.tr",
            "phone": "+905321234567",
        },
        "currency": "TRY",
        "total": "99999999999999.9999",
        "tax": "1" * 14 + ".9999",
        "discount": "1" * 14 + ".9999",
        "items": [],
    }
    limit = MAX_POS_BODY_BYTES

    def fits() -> bool:
        return len(_pos_body(payload)) <= limit

    item: dict[str, Any] = {"sku": FOUR_BYTES * 64, "quantity": 100_000, "price": 0}
    if with_product_ids:
        item["product_id"] = FOUR_BYTES * 128
    while len(payload["items"]) < MAX_ITEMS:
        payload["items"].append(dict(item))
        if not fits():
            payload["items"].pop()
            break
    for line in payload["items"]:
        for text in ("name", "category", "brand", "variant"):
            line[text] = FOUR_BYTES * 256
            if not fits():
                while line[text] and not fits():
                    line[text] = line[text][:-1]
                return payload
    return payload


def _dynamodb_item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values, strings in UTF-8 (numbers counted as their text)."""
    return sum(len(name.encode()) + len(next(iter(value.values())).encode()) for name, value in item.items())


class _RecordingEventBridge:
    def __init__(self) -> None:
        self.entries: list[Any] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


@pytest.mark.parametrize("with_product_ids", [False, True], ids=["skus repeated as product ids", "product ids"])
def test_largest_valid_pos_sale_fits_one_dynamodb_item_and_one_bus_entry(capture, store, dynamodb, with_product_ids):
    # Given capture storing into the events table (moto, which enforces DynamoDB's 400 KB item limit), and the
    # largest valid sale a store can send: a body of 128 KB
    wiring.override(
        service=CaptureService(store),
        secrets=CaptureSecrets.model_validate(samples.dev_secrets()),
        clock=lambda: capture.clock[0],
    )
    payload = _largest_valid_sale(with_product_ids=with_product_ids)
    assert MAX_POS_BODY_BYTES - 1024 < len(_pos_body(payload)) <= MAX_POS_BODY_BYTES
    event = samples.pos_event(payload, store_id="s" * 64)

    # When the store sends it
    response = capture.invoke(event)

    # Then it is accepted and stored whole, raw body included, well under DynamoDB's item limit
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["accepted"] == 1
    items = dynamodb.scan(TableName="events")["Items"]
    assert len(items) == 1
    assert items[0]["raw"]["S"] == event["body"]
    assert _dynamodb_item_size(items[0]) < DYNAMODB_ITEM_LIMIT - 50 * 1024
    # ... and its canonical event is one EventBridge entry well under the entry limit
    bus = _RecordingEventBridge()
    stored = store.load_events([items[0]["event_id"]["S"]])
    assert EventBridgePublisher(bus, "bus").publish([to_bus_event(e) for e in stored]).failed == {}
    assert entry_size(bus.entries[0]) < EVENTBRIDGE_ENTRY_LIMIT - 50 * 1024


# ---------------------------------------------------------------- Meta subscription handshake


@pytest.mark.parametrize("path", ["/webhooks/whatsapp", "/webhooks/messenger", "/webhooks/instagram"])
def test_meta_verification_with_our_token_echoes_the_challenge(capture, path):
    # Given Meta's GET handshake with the right verify token
    event = samples.meta_verify_event(path, challenge="1158201444")

    # When it arrives
    response = capture.invoke(event)

    # Then the challenge is echoed as plain text
    assert response["statusCode"] == 200
    assert response["body"] == "1158201444"
    assert (header(response, "content-type") or "").startswith("text/plain")


def test_meta_verification_sample_event(capture):
    # Given / When the committed sample handshake / Then it is answered with its challenge
    response = capture.invoke(sample("whatsapp_verify.json"))
    assert (response["statusCode"], response["body"]) == (200, "1158201444")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "wrong-token"},
        {"hub.mode": "unsubscribe", "hub.challenge": "42", "hub.verify_token": "dev-verify-token"},
        {"hub.challenge": "42"},
    ],
)
def test_meta_verification_with_a_wrong_token_is_forbidden(capture, query):
    # Given a handshake without our verify token
    event = samples.http_api_event("GET", "/webhooks/whatsapp", query=query)

    # When it arrives
    response = capture.invoke(event)

    # Then it is forbidden, and the challenge is not echoed
    assert response["statusCode"] == 403
    assert "42" not in response["body"]
