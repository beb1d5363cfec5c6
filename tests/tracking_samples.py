"""The sample Segment tracking-API requests in events/tracking/ and the bus events in events/bus/.

events/tracking/: API Gateway HTTP API (payload 2.0) events for ``CaptureApiFunction``, the keys as
``sam local generate-event apigateway http-api-proxy`` writes them, the bodies as the Segment SDKs send them,
authenticated with the development write key (``dev-write-key`` as HTTP Basic user name, empty password).

events/bus/: what a consumer's Lambda function receives from the bus when capture publishes (``sam local
generate-event`` has no custom EventBridge events). Their ``detail`` is written here by hand, field by field,
as the canonical event capture must make from the matching tracking sample; a test feeds the tracking sample to
the handler and checks that capture publishes exactly this detail, so the consumers' samples are the contract.

This module is their single source; a test fails when the files drift from it.

    PYTHONPATH=shared .venv/bin/python -m tests.tracking_samples   # rewrite events/tracking/ and events/bus/
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.identifiers import IdentifierType
from tests.webhook_samples import ROOT, SAMPLE_TIME, http_api_event

TRACKING_DIR = ROOT / "events" / "tracking"
BUS_DIR = ROOT / "events" / "bus"

WRITE_KEY = "dev-write-key"
SOURCE = "dev"  # the source local_runtime/dev-config.json gives the development write key
AUTHORIZATION = "Basic ZGV2LXdyaXRlLWtleTo="  # base64 of "dev-write-key:"
UNKNOWN_AUTHORIZATION = "Basic " + base64.b64encode(b"revoked-write-key:").decode()

# Every sample reached API Gateway at SAMPLE_TIME (the tests' clock says so too).
RECEIVED_AT = SAMPLE_TIME
ANONYMOUS_ID = "3f1c2a9e-6b7d-4c55-9a0e-8d2b1f4e7a61"
USER_ID = "cus_1001"
EMAIL = "Ayse.Yilmaz@Example.com"
EMAIL_NORMALISED = "ayse.yilmaz@example.com"
PHONE = "0532 123 45 67"  # as typed into a Turkish sign-up form: no country code
PHONE_E164 = "+905321234567"
DEVICE_ID = "B6F1C4A2-3D5E-4F60-8A1B-2C3D4E5F6071"  # the app's identifierForVendor
CART_ID = "cart_7Hq2Lx"

WEB_LIBRARY = {"name": "analytics.js", "version": "next-1.70.0"}
WEB_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15"
)
IOS_USER_AGENT = "analytics-ios/4.1.8 (iPhone; iOS 17.2; Scale/3.00)"
PYTHON_USER_AGENT = "analytics-python/2.4.0"


def _iso(moment: datetime) -> str:
    """As the SDKs write times: ISO 8601, UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _web_context(path: str, title: str) -> dict[str, Any]:
    url = f"https://shop.example.com.tr{path}"
    return {
        "library": WEB_LIBRARY,
        "locale": "tr-TR",
        "timezone": "Europe/Istanbul",
        "userAgent": WEB_USER_AGENT,
        "page": {"path": path, "referrer": "https://www.google.com/", "search": "", "title": title, "url": url},
    }


IOS_CONTEXT: dict[str, Any] = {
    "app": {"name": "Moda", "version": "5.12.0", "build": "5120", "namespace": "com.example.moda"},
    "device": {
        "id": DEVICE_ID,
        "manufacturer": "Apple",
        "model": "iPhone15,2",
        "name": "iPhone",
        "type": "ios",
        "adTrackingEnabled": False,
    },
    "library": {"name": "analytics-ios", "version": "4.1.8"},
    "os": {"name": "iOS", "version": "17.2"},
    "network": {"wifi": True, "cellular": False, "carrier": "Turkcell"},
    "screen": {"width": 390, "height": 844, "density": 3},
    "locale": "tr-TR",
    "timezone": "Europe/Istanbul",
}

# Segment e-commerce spec, "Product Added".
PRODUCT_ADDED_PROPERTIES: dict[str, Any] = {
    "cart_id": CART_ID,
    "product_id": "P-2042",
    "sku": "TSHIRT-RED-M",
    "category": "T-Shirts",
    "name": "Kırmızı tişört",
    "brand": "Moda",
    "variant": "Kırmızı / M",
    "price": 89.9,
    "quantity": 1,
    "coupon": "YENIYIL10",
    "currency": "TRY",
    "position": 3,
    "url": "https://shop.example.com.tr/p/kirmizi-tisort",
    "image_url": "https://cdn.example.com.tr/p/kirmizi-tisort.jpg",
}

# ---------------------------------------------------------------- the messages


def identify_message() -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": "ajs-next-1767257990000-0f4b7a1c-1",
        "anonymousId": ANONYMOUS_ID,
        "userId": USER_ID,
        "traits": {
            "email": EMAIL,
            "phone": PHONE,
            "firstName": "Ayşe",
            "lastName": "Yılmaz",
            "address": {"city": "İstanbul", "country": "TR"},
            "createdAt": "2026-01-01T08:59:40.000Z",
        },
        "context": _web_context("/hesabim/kayit", "Üye ol"),
        "timestamp": _iso(RECEIVED_AT - timedelta(seconds=10, milliseconds=700)),
        "sentAt": _iso(RECEIVED_AT - timedelta(seconds=10, milliseconds=200)),
    }


def product_added_message() -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": "ajs-next-1767257998500-0f4b7a1c-2",
        "anonymousId": ANONYMOUS_ID,
        "userId": USER_ID,
        "event": "Product Added",
        "properties": PRODUCT_ADDED_PROPERTIES,
        "context": _web_context("/p/kirmizi-tisort", "Kırmızı tişört"),
        "timestamp": _iso(RECEIVED_AT - timedelta(seconds=1, milliseconds=500)),
        "sentAt": _iso(RECEIVED_AT - timedelta(seconds=1)),
    }


def page_message() -> dict[str, Any]:
    path = "/kategori/tisort"
    return {
        "type": "page",
        "messageId": "ajs-next-1767257985000-0f4b7a1c-0",
        "anonymousId": ANONYMOUS_ID,
        "name": "Category",
        "category": "T-Shirts",
        "properties": {
            "path": path,
            "referrer": "https://www.google.com/",
            "search": "?renk=kirmizi",
            "title": "Tişörtler",
            "url": f"https://shop.example.com.tr{path}?renk=kirmizi",
        },
        "context": _web_context(path, "Tişörtler"),
        "timestamp": _iso(RECEIVED_AT - timedelta(seconds=15)),
        "sentAt": _iso(RECEIVED_AT - timedelta(seconds=14, milliseconds=800)),
    }


def screen_message() -> dict[str, Any]:
    return {
        "type": "screen",
        "messageId": "2E4B0B8C-7B3E-4C1D-9A55-6F0D2C9E1A77",
        "anonymousId": "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50",
        "userId": USER_ID,
        "name": "Sepet",
        "properties": {"cart_id": CART_ID, "items": 2},
        "context": IOS_CONTEXT,
        "timestamp": _iso(RECEIVED_AT - timedelta(seconds=3)),
        "sentAt": _iso(RECEIVED_AT - timedelta(seconds=2)),
    }


# A phone whose clock is 2 h 13 min behind sends a batch: its timestamps are wrong by as much, their differences
# right. Capture corrects each one: occurred_at = received_at - (batch sentAt - message timestamp).
DEVICE_CLOCK_OFFSET = timedelta(hours=-2, minutes=-13)
BATCH_SENT_AT = RECEIVED_AT + DEVICE_CLOCK_OFFSET - timedelta(milliseconds=400)  # the device's clock at sending
BATCH_AGES = (timedelta(seconds=95), timedelta(seconds=80), timedelta(seconds=42), timedelta(seconds=30))


def _device_time(age: timedelta) -> str:
    """The device's clock ``age`` before it sent the batch."""
    return _iso(BATCH_SENT_AT - age)


def batch_body() -> dict[str, Any]:
    """A mixed batch from the iOS app (analytics-ios 4 sends ``context`` and ``sentAt`` once, for the batch)."""
    return {
        "batch": [
            {
                "type": "screen",
                "messageId": "9F0C3E52-0001-4B7A-8C3D-1E2F3A4B5C6D",
                "anonymousId": "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50",
                "name": "Ürün detayı",
                "properties": {"product_id": "P-2042"},
                "timestamp": _device_time(BATCH_AGES[0]),
            },
            {
                "type": "track",
                "messageId": "9F0C3E52-0002-4B7A-8C3D-1E2F3A4B5C6D",
                "anonymousId": "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50",
                "event": "Product Added",
                "properties": {**PRODUCT_ADDED_PROPERTIES, "position": 1},
                "timestamp": _device_time(BATCH_AGES[1]),
            },
            {
                "type": "identify",
                "messageId": "9F0C3E52-0003-4B7A-8C3D-1E2F3A4B5C6D",
                "anonymousId": "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50",
                "userId": USER_ID,
                "traits": {"email": EMAIL, "phone": PHONE},
                "timestamp": _device_time(BATCH_AGES[2]),
            },
            {
                "type": "alias",
                "messageId": "9F0C3E52-0004-4B7A-8C3D-1E2F3A4B5C6D",
                "previousId": "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50",
                "userId": USER_ID,
                "timestamp": _device_time(BATCH_AGES[3]),
            },
        ],
        "context": IOS_CONTEXT,
        "sentAt": _iso(BATCH_SENT_AT),
    }


def batch_with_bad_message_body() -> dict[str, Any]:
    """Three calls, the second a track without its event name: refused alone, the other two are kept."""
    sent_at = RECEIVED_AT - timedelta(milliseconds=300)
    return {
        "batch": [
            {
                "type": "page",
                "messageId": "ajs-next-1767257999000-7c2d-1",
                "anonymousId": ANONYMOUS_ID,
                "name": "Cart",
                "properties": {"path": "/sepet", "url": "https://shop.example.com.tr/sepet", "title": "Sepet"},
                "timestamp": _iso(sent_at - timedelta(seconds=2)),
            },
            {
                "type": "track",
                "messageId": "ajs-next-1767257999000-7c2d-2",
                "anonymousId": ANONYMOUS_ID,
                "properties": {"cart_id": CART_ID},
                "timestamp": _iso(sent_at - timedelta(seconds=1)),
            },
            {
                "type": "track",
                "messageId": "ajs-next-1767257999000-7c2d-3",
                "anonymousId": ANONYMOUS_ID,
                "event": "Cart Viewed",
                "properties": {"cart_id": CART_ID, "products": [{"product_id": "P-2042", "quantity": 1}]},
                "timestamp": _iso(sent_at - timedelta(seconds=1)),
            },
        ],
        "context": {"library": WEB_LIBRARY, "userAgent": WEB_USER_AGENT},
        "sentAt": _iso(sent_at),
    }


def gzip_batch_body() -> dict[str, Any]:
    """What analytics-python sends with ``gzip=True``: a server-side batch, compressed."""
    return {
        "batch": [
            {
                "type": "track",
                "messageId": "5d0f4c1e-2b8a-4e6f-9c3d-7a1b2c3d4e01",
                "userId": USER_ID,
                "event": "Order Completed",
                "properties": {
                    "order_id": "ORD-50021",
                    "checkout_id": "chk_91aa",
                    "total": 179.8,
                    "revenue": 149.83,
                    "tax": 29.97,
                    "shipping": 0,
                    "discount": 0,
                    "currency": "TRY",
                    "products": [{"product_id": "P-2042", "sku": "TSHIRT-RED-M", "price": 89.9, "quantity": 2}],
                },
                "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
                "timestamp": _iso(RECEIVED_AT - timedelta(seconds=5)),
            },
            {
                "type": "identify",
                "messageId": "5d0f4c1e-2b8a-4e6f-9c3d-7a1b2c3d4e02",
                "userId": USER_ID,
                "traits": {"email": EMAIL, "lifetime_orders": 4},
                "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
                "timestamp": _iso(RECEIVED_AT - timedelta(seconds=5)),
            },
        ],
        "sentAt": _iso(RECEIVED_AT - timedelta(seconds=1)),
    }


# ---------------------------------------------------------------- API Gateway events


def _compact(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def tracking_event(
    path: str,
    body: dict[str, Any],
    *,
    user_agent: str = WEB_USER_AGENT,
    authorization: str = AUTHORIZATION,
) -> dict[str, Any]:
    headers = {"authorization": authorization, "content-type": "application/json", "user-agent": user_agent}
    return http_api_event("POST", path, body=_compact(body), headers=headers)


def gzip_tracking_event(path: str, body: dict[str, Any], *, user_agent: str = PYTHON_USER_AGENT) -> dict[str, Any]:
    """A gzip-compressed body: API Gateway hands binary bodies over in base64."""
    compressed = gzip.compress(_compact(body).encode(), mtime=0)
    headers = {
        "authorization": AUTHORIZATION,
        "content-type": "application/json",
        "content-encoding": "gzip",
        "user-agent": user_agent,
    }
    event = http_api_event("POST", path, body=base64.b64encode(compressed).decode(), headers=headers)
    event["isBase64Encoded"] = True
    return event


def batch_with_poison_timestamp_body() -> dict[str, Any]:
    """Two calls, the second an order dated year 1 (a broken client's clock, or an attacker): refused alone, naming
    its timestamp; nothing dated outside 2000 .. a day ahead reaches the bus."""
    sent_at = RECEIVED_AT - timedelta(milliseconds=300)
    return {
        "batch": [
            {
                "type": "track",
                "messageId": "py-poison-1",
                "userId": USER_ID,
                "event": "Product Viewed",
                "properties": {"product_id": "SKU-1"},
                "timestamp": _iso(sent_at - timedelta(seconds=1)),
            },
            {
                "type": "track",
                "messageId": "py-poison-2",
                "userId": USER_ID,
                "event": "Order Completed",
                "properties": {"order_id": "O-1", "total": 10, "currency": "TRY"},
                "timestamp": "0001-01-01T00:00:00Z",
            },
        ],
    }


def tracking_samples() -> dict[str, dict[str, Any]]:
    """Every tracking-API sample, by file name."""
    return {
        "identify.json": tracking_event("/v1/identify", identify_message()),
        "track_product_added.json": tracking_event("/v1/track", product_added_message()),
        "page.json": tracking_event("/v1/page", page_message()),
        "screen.json": tracking_event("/v1/screen", screen_message(), user_agent=IOS_USER_AGENT),
        "batch.json": tracking_event("/v1/batch", batch_body(), user_agent=IOS_USER_AGENT),
        "batch_with_bad_message.json": tracking_event("/v1/batch", batch_with_bad_message_body()),
        "batch_with_poison_timestamp.json": tracking_event("/v1/batch", batch_with_poison_timestamp_body()),
        "batch_gzip.json": gzip_tracking_event("/v1/batch", gzip_batch_body()),
        "unauthorized.json": tracking_event("/v1/track", product_added_message(), authorization=UNKNOWN_AUTHORIZATION),
    }


# ---------------------------------------------------------------- bus events (what capture must publish)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def expected_product_added() -> CanonicalEvent:
    """The canonical event capture makes of track_product_added.json, written out by hand."""
    message = product_added_message()
    return CanonicalEvent(
        event_id=event_id_for(SOURCE, message["messageId"]),
        message_id=message["messageId"],
        source=SOURCE,
        type=EventType.TRACK,
        name="Product Added",
        channel=Channel.WEB,  # analytics.js
        identifiers={IdentifierType.USER_ID: USER_ID, IdentifierType.ANONYMOUS_ID: ANONYMOUS_ID},
        # received - (sentAt - timestamp) = 09:00:00.000 - 0.5 s
        occurred_at=datetime(2026, 1, 1, 8, 59, 59, 500_000, tzinfo=UTC),
        received_at=RECEIVED_AT,
        sent_at=_at(message["sentAt"]),
        original_timestamp=_at(message["timestamp"]),
        properties=PRODUCT_ADDED_PROPERTIES,
        context=message["context"],
    )


def expected_identify() -> CanonicalEvent:
    """The canonical event capture makes of identify.json: e-mail case-folded, phone in E.164."""
    message = identify_message()
    return CanonicalEvent(
        event_id=event_id_for(SOURCE, message["messageId"]),
        message_id=message["messageId"],
        source=SOURCE,
        type=EventType.IDENTIFY,
        channel=Channel.WEB,
        identifiers={
            IdentifierType.USER_ID: USER_ID,
            IdentifierType.ANONYMOUS_ID: ANONYMOUS_ID,
            IdentifierType.EMAIL: EMAIL_NORMALISED,
            IdentifierType.PHONE: PHONE_E164,
        },
        # received - (sentAt - timestamp) = 09:00:00.000 - 0.5 s
        occurred_at=datetime(2026, 1, 1, 8, 59, 59, 500_000, tzinfo=UTC),
        received_at=RECEIVED_AT,
        sent_at=_at(message["sentAt"]),
        original_timestamp=_at(message["timestamp"]),
        traits=message["traits"],
        context=message["context"],
    )


def bus_event(event: CanonicalEvent, bus_event_id: str) -> dict[str, Any]:
    """An EventBridge event as a rule's Lambda target receives it."""
    return {
        "version": "0",
        "id": bus_event_id,
        "detail-type": event.detail_type,
        "source": CAPTURE_SOURCE,
        "account": "123456789012",
        "time": RECEIVED_AT.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [],
        "detail": event.to_bus_detail(),
    }


def bundle_event(singles: list[dict[str, Any]], bus_event_id: str) -> dict[str, Any]:
    """The same events as one bundle entry would carry them (``omnichannel.event_bus``: ``BusBundling: bundled``)."""
    inner = [
        {
            "id": single["detail"]["event_id"],
            "detail-type": single["detail-type"],
            "time": single["time"],
            "detail": single["detail"],
        }
        for single in singles
    ]
    kinds = sorted({single["detail-type"] for single in singles})
    return {**singles[0], "id": bus_event_id, "detail-type": "bundle", "detail": {"kinds": kinds, "events": inner}}


def bus_samples() -> dict[str, dict[str, Any]]:
    singles = {
        "product_added.json": bus_event(expected_product_added(), "5b0e7d3a-93c4-4f1e-8a6b-4c7d9e0f1a2b"),
        "identify.json": bus_event(expected_identify(), "1c9f2e4d-7a3b-4e5f-9d8c-2b4a6c8e0f1d"),
    }
    bundle = bundle_event(list(singles.values()), "0b8e6c1a-5d2f-4e7b-9c3a-1f2e3d4c5b6a")
    return {**singles, "bundle.json": bundle}


# ---------------------------------------------------------------- the files


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def write_samples() -> list[Path]:
    written = []
    for directory, samples in ((TRACKING_DIR, tracking_samples()), (BUS_DIR, bus_samples())):
        directory.mkdir(parents=True, exist_ok=True)
        for name, event in samples.items():
            path = directory / name
            path.write_text(render(event), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    for path in write_samples():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
