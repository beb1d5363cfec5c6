"""The whole pipeline at a retailer's peak: what processing and keeping a million events costs, today and before.

    .venv/bin/python bench/pipeline.py                      # 100,000 events from 10,000 customers; baseline 2,000
    .venv/bin/python bench/pipeline.py --events 5000        # a quick run
    .venv/bin/python bench/pipeline.py --baseline-events 0  # no baseline

A realistic mix (about 60% page/screen, product and cart events; identifies and logins; orders and refunds;
channel messages and calls, WhatsApp through its signed webhook; store visits, leads, surveys) from ``--customers``
customers on the 10 channels is sent through the capture API in SDK-sized requests and then through every function
of ``template.yaml`` in-process: the local runtime (moto for AWS: tables and streams, the bus and its rules, the
queues, Firehose and S3). Every AWS request a function makes is counted at the client (botocore), per function;
DynamoDB units are computed from the items' sizes as DynamoDB bills them (writes per KB, reads per 4 KB, halved
when eventually consistent, transactions doubled, every index entry written); EventBridge entries, SQS requests
(a send per record per queue, a receive and a delete per 10; sends and receives billed per 64 KB chunk of what they
carry, like PutEvents entries: a bundle of events is one entry and one message), Firehose records (5 KB increments)
and S3 bytes come from what passed. Requests are sent and delivered in chunks (``--chunk``) so that queues and
batches behave as in a busy minute, not a backlog.

Consumer invocations per event are modelled at 10,000 events/s with the batch sizes and windows the template
configures (``invocations_at_peak``: a queue's batch holds min(BatchSize, rate x window / 5 pollers) records; a
stream's min(BatchSize, rate per shard x window), one shard per 1,000 write units a second); the invocations made
in-process are printed beside them. Lambda time is modelled, not measured (moto's time is not AWS's): 10 ms per
invocation, plus per request 5 ms for a DynamoDB item request, 10 ms for a batch, query or transaction, 20 ms for
PutEvents, PutRecordBatch or an SQS send, 0.2 ms of CPU per record handled.

The same harness runs on the tree of ``--baseline`` (a git revision, by default the last commit before issue 14)
in a temporary checkout, so "before" and "now" are measured the same way, side by side; the baseline runs fewer
events (``--baseline-events``): its one-invocation-per-event pipeline is slow in moto, and every figure is per
1,000 events. The last four lines are the figures issue 14 sets targets for.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import hmac
import json
import math
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REVISION = "635daac"  # main before issue 14 (one Lambda invocation per event per consumer)
PEAK_EVENTS_PER_SECOND = 10_000
SQS_POLLERS = 5  # Lambda's first pollers per queue
WRITE_UNITS_PER_SHARD = 1_000  # a DynamoDB partition (and so a stream shard) takes about 1,000 WCU/s
INVOCATION_MS = 10.0  # Lambda time model: per invocation, per record, per AWS request (_call_ms)
RECORD_MS = 0.2

# ---------------------------------------------------------------------------------------------- prices
# us-east-1 list prices, read on 2026-12-03 from the AWS pricing pages (DynamoDB on-demand after the 1 Nov 2024
# price cut). Free tiers are not counted.
PRICES_READ_ON = "2026-12-03"
PRICES = {
    "dynamodb_wru_standard": 0.625 / 1e6,
    "dynamodb_rru_standard": 0.125 / 1e6,
    "dynamodb_wru_ia": 0.78125 / 1e6,  # Standard-Infrequent Access table class
    "dynamodb_rru_ia": 0.15625 / 1e6,
    "dynamodb_gb_month_standard": 0.25,
    "dynamodb_gb_month_ia": 0.10,
    "dynamodb_pitr_gb_month": 0.20,  # continuous backups, on the table's size
    "eventbridge_event": 1.00 / 1e6,  # custom events, per 64 KB chunk
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "api_gateway_http_request": 1.00 / 1e6,  # HTTP API, per 512 KB
    "firehose_gb_ingested": 0.029,  # Direct PUT, records rounded up to 5 KB
    "s3_gb_month_standard": 0.023,
    "s3_put": 0.005 / 1000,
}
FIREHOSE_RECORD_INCREMENT = 5 * 1024
FIREHOSE_BUFFER_BYTES = 128 * 1024 * 1024  # the template's BufferingHints: one S3 object per 128 MB (compressed)

CHANNELS = ("web", "app", "store", "email", "sms", "whatsapp", "messenger", "instagram", "phone", "chat")
SESSION_CHANNELS = {  # channel -> share of sessions
    "web": 0.40, "app": 0.25, "store": 0.05, "email": 0.06, "sms": 0.03, "whatsapp": 0.08, "messenger": 0.03,
    "instagram": 0.03, "phone": 0.03, "chat": 0.04,
}  # fmt: skip
SDK_BATCH = {"web": 10, "app": 20}  # analytics.js batching plugin, mobile SDKs' flushAt; others: a session's calls
WRITE_KEY = {"web": "dev-web-key", "app": "dev-app-key"}
META_SECRET = "dev-meta-app-secret"

# ---------------------------------------------------------------------------------------------- the traffic


@dataclass
class Customer:
    number: int
    user_id: str
    email: str
    phone: str
    web_device: str
    app_device: str
    whatsapp: str
    logged_in: bool = False


@dataclass
class Request:
    """One HTTP request of the mix: the tracking API (a batch) or the WhatsApp webhook."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    events: int


def _customer(number: int) -> Customer:
    phone = f"+90532{number:07d}"
    return Customer(
        number=number,
        user_id=f"cus-{number:06d}",
        email=f"musteri.{number}@örnek.com.tr",
        phone=phone,
        web_device=str(uuid.UUID(int=number * 2 + 1)),
        app_device=str(uuid.UUID(int=number * 2 + 2)),
        whatsapp=phone.removeprefix("+"),
    )


def _web_context(customer: Customer, page: str) -> dict[str, Any]:
    url = f"https://shop.example.com.tr{page}"
    return {
        "ip": f"203.0.113.{customer.number % 250}",
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "locale": "tr-TR",
        "page": {"path": page, "referrer": "https://www.google.com/", "title": "Shop", "url": url},
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "campaign": {"source": "google", "medium": "cpc", "name": "kis-indirimi"},
        "timezone": "Europe/Istanbul",
    }


def _app_context(customer: Customer) -> dict[str, Any]:
    return {
        "app": {"name": "Shop", "version": "5.12.0", "build": "5120"},
        "device": {"id": customer.app_device, "manufacturer": "Apple", "model": "iPhone15,2", "type": "ios"},
        "library": {"name": "analytics-ios", "version": "4.1.7"},
        "os": {"name": "iOS", "version": "18.1"},
        "locale": "tr-TR",
        "network": {"wifi": True},
        "timezone": "Europe/Istanbul",
    }


def _product(rng: random.Random) -> dict[str, Any]:
    sku = rng.randrange(1, 400)
    return {
        "product_id": f"P-{sku:04d}",
        "sku": f"SKU-{sku:04d}",
        "name": f"Ürün {sku}",
        "category": rng.choice(("Giyim", "Ayakkabı", "Aksesuar", "Ev")),
        "price": round(rng.uniform(49, 2499), 2),
        "quantity": rng.randint(1, 3),
        "currency": "TRY",
    }


class Traffic:
    """The mix, generated session by session (deterministic for a seed)."""

    def __init__(self, customers: int, seed: int = 14) -> None:
        self.rng = random.Random(seed)
        self.customers = [_customer(number) for number in range(customers)]
        self.clock = datetime.now(UTC) - timedelta(minutes=5)
        self.counts: Counter[str] = Counter()

    def _message(self, kind: str, customer: Customer, channel: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(milliseconds=1)
        stamp = self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message: dict[str, Any] = {"type": kind, "messageId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                                   "timestamp": stamp, "sentAt": stamp, **fields}  # fmt: skip
        if channel == "web":
            message["anonymousId"] = customer.web_device
            message.setdefault("context", _web_context(customer, fields.get("properties", {}).get("path", "/")))
        elif channel == "app":
            message["anonymousId"] = customer.app_device
            message.setdefault("context", _app_context(customer))
        else:
            message.setdefault("context", {"channel": channel, "library": {"name": "backend", "version": "1.0"}})
        if customer.logged_in or channel not in ("web", "app"):
            message["userId"] = customer.user_id
        self.counts[fields.get("event") or kind] += 1
        return message

    def session(self, customer: Customer) -> list[Request]:
        rng = self.rng
        channel = rng.choices(list(SESSION_CHANNELS), weights=list(SESSION_CHANNELS.values()))[0]
        if channel == "whatsapp":
            return [self._whatsapp(customer) for _ in range(rng.randint(1, 3))]
        messages: list[dict[str, Any]] = []
        if channel in ("web", "app"):
            for _ in range(rng.randint(3, 14)):
                roll = rng.random()
                product = _product(rng)
                if roll < 0.62:
                    path = f"/p/{product['sku'].lower()}"
                    kind = "page" if channel == "web" else "screen"
                    messages.append(self._message(kind, customer, channel, name="Product", properties={"path": path}))
                elif roll < 0.74:
                    messages.append(
                        self._message("track", customer, channel, event="Product Viewed", properties=product)
                    )
                elif roll < 0.87:
                    messages.append(
                        self._message("track", customer, channel, event="Product Added", properties=product)
                    )
                elif roll < 0.89:
                    messages.append(
                        self._message("track", customer, channel, event="Product Removed", properties=product)
                    )
                elif roll < 0.93:
                    messages.append(self._message("track", customer, channel, event="Cart Viewed", properties={}))
                else:
                    messages.append(self._message("track", customer, channel, event="Checkout Started", properties={}))
            if not customer.logged_in and rng.random() < 0.45:  # a login: identify with the customer's identifiers
                customer.logged_in = True
                traits = {"email": customer.email, "phone": customer.phone, "name": f"Müşteri {customer.number}"}
                messages.append(self._message("identify", customer, channel, traits=traits))
                messages.append(self._message("track", customer, channel, event="Signed In", properties={}))
                if rng.random() < 0.2:
                    messages.append(self._message("track", customer, channel, event="Signed Up", properties={}))
            if customer.logged_in and rng.random() < 0.3:
                messages.append(self._order(customer, channel))
        elif channel == "store":
            messages.append(
                self._message("track", customer, channel, event="Store Visited", properties={"store_id": "IST-01"})
            )
            if rng.random() < 0.6:
                messages.append(self._order(customer, channel))
        elif channel == "email":
            messages.append(
                self._message("track", customer, channel, event="Email Opened", properties={"campaign": "kis"})
            )
            if rng.random() < 0.3:
                messages.append(self._message("track", customer, channel, event="Email Link Clicked", properties={}))
        elif channel == "phone":
            messages.append(self._message("track", customer, channel, event="Call Started", properties={}))
            messages.append(
                self._message("track", customer, channel, event="Call Completed", properties={"duration": 95})
            )
            if rng.random() < 0.2:
                refund = {"order_id": f"O-{customer.number}-r", "revenue": 129.9, "currency": "TRY"}
                messages.append(self._message("track", customer, channel, event="Order Refunded", properties=refund))
        else:  # sms, messenger, instagram, chat
            for _ in range(rng.randint(1, 3)):
                text = {"text": "Merhaba, siparişim ne zaman gelir?"}
                messages.append(self._message("track", customer, channel, event="Message Received", properties=text))
            if rng.random() < 0.25:
                messages.append(self._message("track", customer, channel, event="Lead Created", properties={}))
            if rng.random() < 0.2:
                survey = {"survey": "nps", "score": rng.randint(0, 10)}
                messages.append(self._message("track", customer, channel, event="Survey Answered", properties=survey))
        size = SDK_BATCH.get(channel, len(messages))
        return [self._batch(channel, messages[start : start + size]) for start in range(0, len(messages), size)]

    def _order(self, customer: Customer, channel: str) -> dict[str, Any]:
        products = [_product(self.rng) for _ in range(self.rng.randint(1, 3))]
        revenue = round(sum(p["price"] * p["quantity"] for p in products), 2)
        order = {"order_id": f"O-{uuid.UUID(int=self.rng.getrandbits(128))}", "revenue": revenue, "total": revenue,
                 "currency": "TRY", "products": products}  # fmt: skip
        return self._message("track", customer, channel, event="Order Completed", properties=order)

    def _batch(self, channel: str, messages: list[dict[str, Any]]) -> Request:
        key = WRITE_KEY.get(channel, "dev-write-key")
        import base64

        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        return Request("/v1/batch", {"batch": messages}, {"Authorization": auth}, len(messages))

    def _whatsapp(self, customer: Customer) -> Request:
        self.clock += timedelta(milliseconds=1)
        wamid = "wamid." + uuid.UUID(int=self.rng.getrandbits(128)).hex
        message = {
            "from": customer.whatsapp,
            "id": wamid,
            "timestamp": str(int(self.clock.timestamp())),
            "type": "text",
            "text": {"body": "Merhaba, kırmızı tişörtün M bedeni var mı?"},
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "908501234567", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": f"Müşteri {customer.number}"}, "wa_id": customer.whatsapp}],
            "messages": [message],
        }
        change = {"value": value, "field": "messages"}
        payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}
        body = json.dumps(payload, separators=(",", ":"))
        signature = "sha256=" + hmac.new(META_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
        self.counts["WhatsApp message"] += 1
        return Request("/webhooks/whatsapp", payload, {"x-hub-signature-256": signature, "_raw": body}, 1)

    def requests(self, events: int) -> Iterator[Request]:
        produced = 0
        while produced < events:
            customer = self.customers[self.rng.randrange(len(self.customers))]
            for request in self.session(customer):
                produced += request.events
                yield request


# ---------------------------------------------------------------------------------------------- DynamoDB sizes


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (approximately, as documented: strings and binaries by their bytes,
    numbers by their digits, containers 3 bytes plus their elements)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(data) if isinstance(data, (bytes, bytearray)) else len(str(data)) * 3 // 4
    if kind == "N":
        return (len(str(data).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(str(item).encode()) for item in data)
    if kind == "NS":
        return sum((len(str(item)) + 1) // 2 + 1 for item in data)
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(item) + 1 for name, item in data.items())
    return len(json.dumps(data))


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


# ---------------------------------------------------------------------------------------------- the harness


@dataclass
class Measure:
    events: int = 0
    requests: int = 0
    request_bytes: int = 0
    seconds: float = 0.0
    invocations: Counter[str] = field(default_factory=Counter)  # function -> invocations made in-process
    records: Counter[str] = field(default_factory=Counter)  # "function|source" -> records delivered
    calls: Counter[str] = field(default_factory=Counter)  # "function|service.Operation"
    wru: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # table -> write units
    rru: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # table -> read units
    item_writes: Counter[str] = field(default_factory=Counter)  # table|pk|sk -> writes
    wru_by_kind: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # "table|item kind" -> units
    bus_entries: int = 0
    bus_chunks: int = 0  # PutEvents entries as billed: one per 64 KB chunk of each entry
    record_events: Counter[str] = field(default_factory=Counter)  # "function|source" -> events in its SQS records
    record_bytes: Counter[str] = field(default_factory=Counter)  # "function|source" -> bytes of its SQS bodies
    record_chunks: Counter[str] = field(default_factory=Counter)  # "function|source" -> 64 KB chunks, per body
    firehose_records: int = 0
    firehose_billed_bytes: int = 0
    modelled_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # function -> Lambda ms (model)
    stored: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)  # "function|source" -> {type, batch, window, ...}
    memory_mb: dict[str, int] = field(default_factory=dict)
    table_class: dict[str, str] = field(default_factory=dict)
    mix: dict[str, int] = field(default_factory=dict)


class Tables:
    """Item lookups in moto's DynamoDB backend (no request, not counted)."""

    def __init__(self) -> None:
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends["123456789012"][os.environ.get("AWS_REGION", "eu-west-1")]

    def table(self, name: str) -> Any:
        return self._backend.tables.get(name)

    def get(self, name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self.table(name)
        if table is None:
            return None
        hash_name, range_name = table.hash_key_attr, table.range_key_attr
        try:
            found = table.get_item(
                DynamoType(key[hash_name]), DynamoType(key[range_name]) if range_name and range_name in key else None
            )
        except Exception:
            return None
        return found.to_json()["Attributes"] if found is not None else None

    def indexes(self, name: str) -> list[Any]:
        table = self.table(name)
        return list(table.global_indexes) if table is not None else []

    def key_names(self, name: str) -> list[str]:
        table = self.table(name)
        return [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])


def index_entry(table_keys: list[str], index: Any, item: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an index holds for an item (None when the item lacks the index's keys)."""
    if not item:
        return None
    index_keys = [part["AttributeName"] for part in index.schema]
    if any(name not in item for name in index_keys):
        return None
    projection = index.projection or {}
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return dict(item)
    names = set(table_keys) | set(index_keys) | set(projection.get("NonKeyAttributes") or [])
    return {name: value for name, value in item.items() if name in names}


class Recorder:
    """Counts what functions ask of AWS (botocore ``_make_api_call``), and DynamoDB units from item sizes."""

    def __init__(self, measure: Measure) -> None:
        self.m = measure
        self.function: str | None = None
        self.tables: Tables | None = None

    def install(self) -> None:
        import botocore.client

        original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 - patched below
        recorder = self

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            function = recorder.function
            if function is None:
                return original(client, operation, params)
            service = client.meta.service_model.endpoint_prefix
            recorder.m.calls[f"{function}|{service}.{operation}"] += 1
            recorder.m.modelled_ms[function] += _call_ms(service, operation)
            before = recorder._before(service, operation, params)
            failed = False
            try:
                return (result := original(client, operation, params))
            except Exception:
                failed = True
                result = None
                raise
            finally:
                with contextlib.suppress(Exception):
                    recorder._after(service, operation, params, before, result, failed)

        setattr(botocore.client.BaseClient, "_make_api_call", counted)  # noqa: B010 - every client, every call

    # -- DynamoDB
    def _keys(self, params: dict[str, Any], table: str, item_or_key: dict[str, Any]) -> dict[str, Any]:
        assert self.tables is not None
        return {name: item_or_key[name] for name in self.tables.key_names(table) if name in item_or_key}

    def _writes_of(
        self, operation: str, params: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """(table, key, new item if known from the request) per item a write request touches."""
        if operation == "PutItem":
            return [(params["TableName"], self._keys(params, params["TableName"], params["Item"]), params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], None)]
        if operation == "BatchWriteItem":
            out = []
            for table, entries in params["RequestItems"].items():
                for entry in entries:
                    if "PutRequest" in entry:
                        item = entry["PutRequest"]["Item"]
                        out.append((table, self._keys(params, table, item), item))
                    else:
                        out.append((table, entry["DeleteRequest"]["Key"], None))
            return out
        if operation == "TransactWriteItems":
            out = []
            for action in params["TransactItems"]:
                (kind, body), *_ = action.items()
                item = body.get("Item")
                key = self._keys(params, body["TableName"], item) if item else body["Key"]
                out.append((body["TableName"], key, item if kind == "Put" else None))
            return out
        return []

    def _before(self, service: str, operation: str, params: dict[str, Any]) -> Any:
        if service != "dynamodb" or self.tables is None:
            return None
        return [(table, key, self.tables.get(table, key)) for table, key, _ in self._writes_of(operation, params)]

    def _after(
        self, service: str, operation: str, params: dict[str, Any], before: Any, result: Any, failed: bool
    ) -> None:
        if service == "events" and operation == "PutEvents" and not failed:
            self.m.bus_entries += len(params.get("Entries", []))
            self.m.bus_chunks += sum(chunks_of(bus_entry_size(entry)) for entry in params.get("Entries", []))
        elif service == "firehose" and operation == "PutRecordBatch" and not failed:
            for record in params.get("Records", []):
                self.m.firehose_records += 1
                size = len(record["Data"])
                self.m.firehose_billed_bytes += math.ceil(size / FIREHOSE_RECORD_INCREMENT) * FIREHOSE_RECORD_INCREMENT
        elif service == "dynamodb" and self.tables is not None:
            if before is not None and operation in (
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "BatchWriteItem",
                "TransactWriteItems",
            ):
                self._count_writes(operation, before)
            else:
                self._count_reads(operation, params, result)

    def _count_writes(self, operation: str, before: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> None:
        assert self.tables is not None
        factor = 2 if operation == "TransactWriteItems" else 1
        for table, key, old in before:
            new = self.tables.get(table, key)
            size = max(item_size(old), item_size(new)) if new != old or old else item_size(key)
            self.m.wru[table] += factor * write_units(size)
            kind = f"{table}|{item_kind(key)}"
            self.m.wru_by_kind[kind] += factor * write_units(size)
            self.m.item_writes[f"{table}|{key.get('pk', {}).get('S', '')}|{key.get('sk', {}).get('S', '')}"] += 1
            if new == old:
                continue  # a condition that failed, or nothing changed: no index is written
            index_units_before = self.m.wru[table]
            keys = self.tables.key_names(table)
            for index in self.tables.indexes(table):
                old_entry, new_entry = index_entry(keys, index, old), index_entry(keys, index, new)
                if old_entry == new_entry:
                    continue
                same_key = (
                    old_entry
                    and new_entry
                    and all(old_entry[p["AttributeName"]] == new_entry[p["AttributeName"]] for p in index.schema)
                )
                if same_key or not old_entry:
                    self.m.wru[table] += write_units(item_size(new_entry))
                elif not new_entry:
                    self.m.wru[table] += write_units(item_size(old_entry))
                else:  # the index key moved: a delete and a put
                    self.m.wru[table] += write_units(item_size(old_entry)) + write_units(item_size(new_entry))
            self.m.wru_by_kind[kind + " (its index entries)"] += self.m.wru[table] - index_units_before

    def _count_reads(self, operation: str, params: dict[str, Any], result: Any) -> None:
        assert self.tables is not None
        if operation == "GetItem":
            full = self.tables.get(params["TableName"], params["Key"])
            self.m.rru[params["TableName"]] += read_units(item_size(full), bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            for table, spec in params["RequestItems"].items():
                for key in spec["Keys"]:
                    full = self.tables.get(table, key)
                    self.m.rru[table] += read_units(item_size(full), bool(spec.get("ConsistentRead")))
        elif operation in ("Query", "Scan") and result is not None:
            table = params["TableName"]
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            size = 0
            for item in result.get("Items", []):
                full = self.tables.get(table, item) if "IndexName" not in params else None
                size += item_size(full or item)
            self.m.rru[table] += read_units(size, consistent)
        elif operation == "TransactGetItems":
            for action in params["TransactItems"]:
                body = action["Get"]
                self.m.rru[body["TableName"]] += 2 * read_units(
                    item_size(self.tables.get(body["TableName"], body["Key"])), True
                )


def _call_ms(service: str, operation: str) -> float:
    if service == "dynamodb":
        return 5.0 if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem") else 10.0
    if service in ("events", "firehose", "sqs", "sns", "ses"):
        return 20.0
    return 10.0


def _records_of(event: Any) -> int:
    return len(event["Records"]) if isinstance(event, dict) and isinstance(event.get("Records"), list) else 1


BILLING_CHUNK = 64 * 1024  # EventBridge bills an entry, SQS a request, per 64 KB chunk of its payload


def chunks_of(size: int) -> int:
    return max(1, math.ceil(size / BILLING_CHUNK))


def bus_entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's size formula for one PutEvents entry."""
    size = sum(len(str(entry.get(name, "")).encode()) for name in ("Source", "DetailType", "Detail"))
    return size + sum(len(str(r).encode()) for r in entry.get("Resources", [])) + (14 if "Time" in entry else 0)


def events_in(body: str) -> int:
    """How many bus events an SQS body carries: a bundle's events (detail-type ``bundle``), else one."""
    if '"bundle"' not in body:
        return 1
    try:
        envelope = json.loads(body)
    except ValueError:
        return 1
    detail = envelope.get("detail") if isinstance(envelope, dict) else None
    if envelope.get("detail-type") == "bundle" and isinstance(detail, dict) and isinstance(detail.get("events"), list):
        return len(detail["events"])
    return 1


def _events_of(event: Any) -> int:
    """The events an invocation handles: a record each, a bundle's events for a bundle."""
    if not (isinstance(event, dict) and isinstance(event.get("Records"), list)):
        return 1
    return sum(events_in(str(record.get("body", ""))) if "body" in record else 1 for record in event["Records"])


def run(root: Path, events: int, customers: int, chunk: int, seed: int) -> Measure:
    """The harness, on the tree at ``root`` (imported from there)."""
    for folder in (root / "shared", *sorted(p for p in (root / "functions").iterdir() if p.is_dir()), root):
        sys.path.insert(0, str(folder))
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    import logging

    logging.disable(logging.CRITICAL)
    from local_runtime.functions import FunctionHost
    from local_runtime.runtime import LocalRuntime

    measure = Measure()
    recorder = Recorder(measure)
    recorder.install()
    original_invoke = FunctionHost.invoke

    def invoke(host: Any, function_id: str, event: Any) -> Any:
        previous, recorder.function = recorder.function, function_id
        measure.invocations[function_id] += 1
        measure.modelled_ms[function_id] += INVOCATION_MS + RECORD_MS * _events_of(event)
        try:
            return original_invoke(host, function_id, event)
        finally:
            recorder.function = previous

    setattr(FunctionHost, "invoke", invoke)  # noqa: B010 - every invocation, whichever tree the runtime is from
    traffic = Traffic(customers, seed)
    started = time.monotonic()
    with LocalRuntime.start(root / "template.yaml", mode="inprocess") as rt:
        recorder.tables = Tables()
        _describe(rt, measure)
        pending = 0
        for request in traffic.requests(events):
            headers = dict(request.headers)
            raw = headers.pop("_raw", None)
            body = raw if raw is not None else json.dumps(request.body)
            measure.requests += 1
            measure.request_bytes += len(body.encode())
            answer = rt.request(
                "POST", request.path, headers={**headers, "content-type": "application/json"}, body=body
            )
            if answer.status != 200:
                raise RuntimeError(f"{request.path} answered {answer.status}: {answer.body[:300]!r}")
            measure.events += request.events
            pending += request.events
            if pending >= chunk:
                _deliver(rt, measure)
                pending = 0
        _deliver(rt, measure)
        measure.stored = _stored(rt, recorder.tables)
    measure.seconds = time.monotonic() - started
    measure.mix = dict(traffic.counts)
    return measure


def _describe(rt: Any, measure: Measure) -> None:
    for function_id, spec in rt.functions.items():
        measure.memory_mb[function_id] = int(spec.memory_mb)
        for name, event in spec.events.items():
            kind = event.get("Type")
            props = event.get("Properties") or {}
            if kind in ("SQS", "DynamoDB", "EventBridgeRule"):
                measure.sources[f"{function_id}|{name}"] = {
                    "type": kind,
                    "batch": int(props.get("BatchSize", 10 if kind == "SQS" else 100 if kind == "DynamoDB" else 1)),
                    "window": float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    "parallel": int(props.get("ParallelizationFactor", 1)),
                    "table": str(props.get("Stream", "")),
                }
    for resource in rt.stack.resources.values():
        if resource.type == "AWS::DynamoDB::Table":
            measure.table_class[str(resource.ref)] = str(resource.properties.get("TableClass", "STANDARD"))


def _deliver(rt: Any, measure: Measure) -> None:
    """Deliver everything pending, with batches filled as at the peak.

    At 10,000 events/s a consumer's queue gathers a full batch (its ``BatchSize``) within its batching window, so a
    consumer is invoked with full batches. In-process, a plain drain hands each consumer whatever arrived since its
    last poll (a stream batch's share: ~50 records for a queue that holds 1,000). So here a queue is read only once
    it holds a full batch, while anything upstream (a table stream, another queue) may still add to it; when nothing
    upstream moves any more, whatever waits is delivered. The records, writes and items are then those of full
    batches: measured, not modelled.
    """
    bus = rt.delivery
    sqs = bus._clients("sqs")
    consumers = [sub for sub in bus.subscriptions if sub.kind == "SQS" and sub.enabled]
    others = [sub for sub in bus.subscriptions if sub.kind != "SQS" and sub.kind != "Schedule"]

    def waiting(sub: Any) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=sub.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"].get("ApproximateNumberOfMessages", 0))

    def note(deliveries: list[Any]) -> None:
        for delivery in deliveries:
            source = delivery.trigger.replace(".", "|", 1)
            measure.records[source] += _records_of(delivery.event)
            records = delivery.event.get("Records") if isinstance(delivery.event, dict) else None
            for record in records if isinstance(records, list) else []:
                if isinstance(record, dict) and "body" in record:  # an SQS message
                    body = str(record["body"])
                    measure.record_events[source] += events_in(body)
                    measure.record_bytes[source] += len(body.encode())
                    measure.record_chunks[source] += chunks_of(len(body.encode()))

    with bus._lock:
        while True:
            moved = 0
            for stream in bus.streams:
                handled, delivered = stream.poll(bus._invoke)
                moved += handled
                note(delivered)
            for sub in others:
                poll = bus._poll(sub)
                moved += poll.received
                note(poll.deliveries)
            for sub in consumers:
                if waiting(sub) >= sub.batch_size:
                    poll = bus._poll(sub)
                    moved += poll.received
                    note(poll.deliveries)
            if moved:
                continue
            for sub in consumers:  # nothing upstream moves: the partial batches go
                poll = bus._poll(sub)
                moved += poll.received
                note(poll.deliveries)
            if not moved:
                break
    note(rt.drain(timeout=3600))  # retries waiting for their visibility timeout, if any


MONTH_SECONDS = 30 * 86400


def _month_share(attributes: dict[str, Any], now: float) -> float:
    """The share of the coming month an item is kept: TTL (``expires_at``) removes idempotency items and the like."""
    expires = attributes.get("expires_at", {}).get("N")
    return 1.0 if expires is None else max(0.0, min(1.0, (float(expires) - now) / MONTH_SECONDS))


def _stored(rt: Any, tables: Tables) -> dict[str, Any]:
    """Bytes each table holds over the coming month (items with DynamoDB's 100 bytes of overhead each, weighted by
    the share of the month their TTL keeps them) and each index; the lake's bytes."""
    stored: dict[str, Any] = {"tables": {}, "lake_bytes": 0, "lake_objects": 0}
    now = time.time()
    for name in list(tables._backend.tables):
        table = tables.table(name)
        keys = tables.key_names(name)
        base = 0.0
        indexes: dict[str, float] = defaultdict(float)
        kinds: dict[str, float] = defaultdict(float)
        for item in table.all_items():
            attributes = item.to_json()["Attributes"]
            share = _month_share(attributes, now)
            base += (item_size(attributes) + 100) * share
            kinds[item_kind(attributes)] += (item_size(attributes) + 100) * share
            for index in table.global_indexes:
                entry = index_entry(keys, index, attributes)
                if entry is not None:
                    indexes[index.name] += (item_size(entry) + 100) * share
        stored["tables"][name] = {"base": base, "indexes": dict(indexes), "kinds": dict(kinds)}
    with contextlib.suppress(Exception):
        s3 = rt.client("s3")
        for bucket in s3.list_buckets().get("Buckets", []):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
                for item in page.get("Contents", []):
                    data = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
                    compressed = data if data[:2] == b"\x1f\x8b" else gzip.compress(data)  # Firehose GZIPs on AWS
                    stored["lake_bytes"] += len(compressed)
                    stored["lake_objects"] += 1
    return stored


# ---------------------------------------------------------------------------------------------- the figures


def invocations_at_peak(m: Measure) -> dict[str, float]:
    """Invocations per function at 10,000 events/s with the template's batch settings (see the module docstring)."""
    duration = m.events / PEAK_EVENTS_PER_SECOND
    table_wcu = {table: units / duration for table, units in m.wru.items()} if duration else {}
    out: dict[str, float] = defaultdict(float)
    for source, records in m.records.items():
        function = source.split("|", 1)[0]
        spec = m.sources.get(source)
        if spec is None:  # an HttpApi or a schedule: as many as happened
            continue
        rate = records / duration if duration else 0.0
        if spec["type"] == "EventBridgeRule":
            out[function] += records
            continue
        if spec["type"] == "SQS":
            fill = min(spec["batch"], max(1.0, rate * max(spec["window"], 0.05) / SQS_POLLERS))
        else:
            table = next((name for name in table_wcu if name in spec["table"] or spec["table"].startswith(name)), "")
            shards = max(1, math.ceil(table_wcu.get(table, 0) / WRITE_UNITS_PER_SHARD)) * spec["parallel"]
            fill = min(spec["batch"], max(1.0, rate / shards * max(spec["window"], 0.05)))
        out[function] += records / fill
    return dict(out)


def item_kind(key: dict[str, Any]) -> str:
    """What kind of item a key names: the leading word of its partition and sort keys (``R#2026-12`` / ``U#...``
    -> ``R / U``); a table keyed otherwise is named by its key attribute."""
    if "pk" not in key:
        return "(" + ", ".join(sorted(key)) + ")"
    words = []
    for name in ("pk", "sk"):
        value = str(key.get(name, {}).get("S", key.get(name, {}).get("N", "")))
        word = re.split(r"[#:]", value, maxsplit=1)[0] if "#" in value or ":" in value else ("…" if value else "")
        words.append("<time>" if word[:1].isdigit() else word)
    return " / ".join(word for word in words if word)


def per_thousand(value: float, m: Measure) -> float:
    return value * 1000 / m.events if m.events else 0.0


def costs(m: Measure) -> dict[str, float]:
    """US dollars per million events: processing (by service) and keeping them a month."""
    scale = 1e6 / m.events
    p = PRICES
    out: dict[str, float] = {}
    wru = rru = 0.0
    for table, units in m.wru.items():
        ia = m.table_class.get(table) == "STANDARD_INFREQUENT_ACCESS"
        wru += units * (p["dynamodb_wru_ia"] if ia else p["dynamodb_wru_standard"])
    for table, units in m.rru.items():
        ia = m.table_class.get(table) == "STANDARD_INFREQUENT_ACCESS"
        rru += units * (p["dynamodb_rru_ia"] if ia else p["dynamodb_rru_standard"])
    out["DynamoDB writes"] = wru * scale
    out["DynamoDB reads"] = rru * scale
    out["EventBridge"] = (m.bus_chunks or m.bus_entries) * p["eventbridge_event"] * scale
    out["SQS"] = sqs_requests(m) * p["sqs_request"] * scale
    peak = invocations_at_peak(m)
    invocations = sum(peak.values()) + sum(count for function, count in m.invocations.items() if function not in peak)
    gb_seconds = 0.0
    for function, ms in m.modelled_ms.items():
        # the model's 10 ms per invocation, for the invocations there would be at the peak
        work = ms - INVOCATION_MS * m.invocations[function]
        count = peak.get(function, m.invocations[function])
        gb_seconds += (work + INVOCATION_MS * count) / 1000 * m.memory_mb.get(function, 512) / 1024
    out["Lambda"] = (invocations * p["lambda_request"] + gb_seconds * p["lambda_gb_second_arm64"]) * scale
    out["API Gateway"] = m.requests * p["api_gateway_http_request"] * scale  # every request under 512 KB
    out["Firehose"] = m.firehose_billed_bytes / 1e9 * p["firehose_gb_ingested"] * scale
    out["S3 PUTs"] = (
        math.ceil(m.stored.get("lake_bytes", 0) * scale / FIREHOSE_BUFFER_BYTES) * p["s3_put"]
        if m.stored.get("lake_bytes")
        else 0.0
    )
    return out


def sqs_requests(m: Measure) -> float:
    """A send per record a rule put in a queue, a receive and a delete per 10 (Lambda's pollers), quarantine sends;
    a send per 64 KB chunk of its message, a receive per 64 KB chunk of the (up to 10) messages it returns."""
    total = 0.0
    for source, records in m.records.items():
        spec = m.sources.get(source)
        if spec and spec["type"] == "SQS":
            if m.record_chunks.get(source):
                receives = max(records / 10, m.record_bytes[source] / BILLING_CHUNK)
                total += m.record_chunks[source] + receives + records / 10
            else:
                total += records * (1 + 2 / 10)
    total += sum(count for key, count in m.calls.items() if key.endswith("|sqs.SendMessage"))
    return total


def storage(m: Measure) -> dict[str, float]:
    """US dollars to keep a million events a month: every table and index (their class's price, PITR on the base
    table) and the lake."""
    scale = 1e6 / m.events
    p = PRICES
    out: dict[str, float] = {}
    for table, sizes in m.stored.get("tables", {}).items():
        ia = m.table_class.get(table) == "STANDARD_INFREQUENT_ACCESS"
        gb = (sizes["base"] + sum(sizes["indexes"].values())) * scale / 1e9
        price = p["dynamodb_gb_month_ia"] if ia else p["dynamodb_gb_month_standard"]
        out[table] = gb * price + sizes["base"] * scale / 1e9 * p["dynamodb_pitr_gb_month"]
    out["S3 lake"] = m.stored.get("lake_bytes", 0) * scale / 1e9 * p["s3_gb_month_standard"]
    return out


def bytes_per_event(m: Measure) -> dict[str, float]:
    out: dict[str, float] = {}
    for table, sizes in m.stored.get("tables", {}).items():
        out[f"{_short(table)} base"] = sizes["base"] / m.events
        for index, size in sizes["indexes"].items():
            out[f"{_short(table)} {index}"] = size / m.events
    out["S3 lake (GZIP)"] = m.stored.get("lake_bytes", 0) / m.events
    return out


def _stored_kinds(m: Measure) -> dict[str, float]:
    out: dict[str, float] = {}
    for table, sizes in m.stored.get("tables", {}).items():
        for kind, size in sizes.get("kinds", {}).items():
            out[f"{_short(table)} {kind}"] = size / m.events
    return out


def _short(name: str) -> str:
    return name.removeprefix("omnichannel-local-")


def hottest(m: Measure) -> tuple[str, int]:
    if not m.item_writes:
        return "-", 0
    key, count = m.item_writes.most_common(1)[0]
    table, pk, sk = key.split("|", 2)
    masked = "#".join(part if len(part) < 24 else part[:20] + "…" for part in pk.split("#"))
    return f"{_short(table)} {masked} / {sk[:30]}", count


# ---------------------------------------------------------------------------------------------- the report


def summary(m: Measure) -> dict[str, float]:
    peak = invocations_at_peak(m)
    processing = costs(m)
    kept = storage(m)
    return {
        "consumer_invocations_per_event": sum(peak.values()) / m.events,
        "hottest_item_writes_per_1000_events": per_thousand(hottest(m)[1], m),
        "usd_per_million_events": sum(processing.values()),
        "usd_per_million_events_stored_per_month": sum(kept.values()),
    }


def report(now: Measure, before: Measure | None) -> None:
    columns = [("before", before), ("now", now)] if before is not None else [("now", now)]

    def row(label: str, values: list[str]) -> None:
        print(f"  {label:<58}" + "".join(f"{value:>16}" for value in values))

    def section(title: str) -> None:
        print(f"\n{title}")
        row("", [name for name, _ in columns])

    def fmt(value: float, digits: int = 2) -> str:
        return f"{value:,.{digits}f}"

    def each(fn: Any) -> list[str]:
        return [fn(m) if m is not None else "-" for _, m in columns]

    print(f"\nPipeline benchmark: a realistic mix on {len(CHANNELS)} channels through every function in-process;")
    print("figures per 1,000 events unless said otherwise")
    section("run")
    row("events sent", each(lambda m: f"{m.events:,}"))
    row("HTTP requests (SDK-sized batches, webhooks)", each(lambda m: f"{m.requests:,}"))
    row("seconds in-process (moto)", each(lambda m: fmt(m.seconds, 0)))

    section("Lambda invocations per 1,000 events (in-process | modelled at 10,000 events/s)")
    functions = sorted(set().union(*[set(m.invocations) for _, m in columns if m is not None]))

    def invocations(m: Measure, function: str) -> str:
        peak = invocations_at_peak(m).get(function, m.invocations[function])
        return f"{per_thousand(m.invocations[function], m):.1f} | {per_thousand(peak, m):.2f}"

    for function in functions:
        row(_short(function), each(lambda m, f=function: invocations(m, f)))
    row(
        "= consumers (every non-HTTP invocation), modelled",
        each(lambda m: fmt(per_thousand(sum(invocations_at_peak(m).values()), m))),
    )

    section("DynamoDB units per 1,000 events (writes by item size, transactions doubled, index entries included)")
    tables = sorted(set().union(*[set(m.wru) | set(m.rru) for _, m in columns if m is not None]), key=_short)
    for table in tables:
        row(f"{_short(table)} write units", each(lambda m, t=table: fmt(per_thousand(m.wru[t], m), 0)))
        row(f"{_short(table)} read units", each(lambda m, t=table: fmt(per_thousand(m.rru[t], m), 0)))
    row("= write units", each(lambda m: fmt(per_thousand(sum(m.wru.values()), m), 0)))
    row("= read units", each(lambda m: fmt(per_thousand(sum(m.rru.values()), m), 0)))

    section("write units per 1,000 events by item kind (partition / sort key's leading word; the 20 largest)")
    kinds: dict[str, float] = {}
    for _, m in columns:
        if m is not None:
            for kind, units in m.wru_by_kind.items():
                kinds[kind] = max(kinds.get(kind, 0.0), per_thousand(units, m))
    for kind in sorted(kinds, key=kinds.__getitem__, reverse=True)[:20]:
        table, _, what = kind.partition("|")
        row(f"{_short(table)} {what}"[:58], each(lambda m, k=kind: fmt(per_thousand(m.wru_by_kind.get(k, 0.0), m), 0)))

    section("records each consumer receives per 1,000 events (its queue or stream; a queue: records | events inside)")
    sources = sorted(set().union(*[set(m.records) for _, m in columns if m is not None]))

    def received(m: Measure, source: str) -> str:
        records = fmt(per_thousand(m.records[source], m), 0)
        inside = m.record_events.get(source)
        return f"{records} | {fmt(per_thousand(inside, m), 0)}" if inside else records

    for source in sources:
        row(_short(source.replace("|", " ")), each(lambda m, src=source: received(m, src)))

    section("requests per 1,000 events")
    row("PutEvents entries (EventBridge events)", each(lambda m: fmt(per_thousand(m.bus_entries, m), 0)))
    row("  as billed (64 KB chunks)", each(lambda m: fmt(per_thousand(m.bus_chunks or m.bus_entries, m), 0)))
    row(
        "SQS requests (64 KB chunks: sends, receives, deletes)",
        each(lambda m: fmt(per_thousand(sqs_requests(m), m), 0)),
    )
    row("Firehose records", each(lambda m: fmt(per_thousand(m.firehose_records, m), 1)))
    row("API Gateway requests", each(lambda m: fmt(per_thousand(m.requests, m), 1)))
    services: Counter[str] = Counter()
    for _, m in columns:
        if m is not None:
            for key in m.calls:
                services[key.split("|", 1)[1]] += 0
    for name in sorted(services):
        row(
            f"  {name} calls",
            each(lambda m, n=name: fmt(per_thousand(sum(v for k, v in m.calls.items() if k.endswith("|" + n)), m), 1)),
        )

    section("the single most-written item")
    row("which (table, key)", each(lambda m: hottest(m)[0][:15]))
    for _, m in columns:
        if m is not None:
            print(f"    {hottest(m)[0]}")
    row("writes per 1,000 events", each(lambda m: fmt(per_thousand(hottest(m)[1], m), 1)))

    section("bytes stored per event (over the coming month: an item's TTL shortens its share)")
    labels = sorted(set().union(*[set(bytes_per_event(m)) for _, m in columns if m is not None]))
    for label in labels:
        row(label, each(lambda m, lbl=label: fmt(bytes_per_event(m).get(lbl, 0.0), 0)))
    row("= total", each(lambda m: fmt(sum(bytes_per_event(m).values()), 0)))

    section("bytes stored per event by item kind (base tables; the 12 largest)")
    stored_kinds: dict[str, float] = {}
    for _, m in columns:
        if m is not None:
            for label, size in _stored_kinds(m).items():
                stored_kinds[label] = max(stored_kinds.get(label, 0.0), size)
    for label in sorted(stored_kinds, key=stored_kinds.__getitem__, reverse=True)[:12]:
        row(label[:58], each(lambda m, lbl=label: fmt(_stored_kinds(m).get(lbl, 0.0), 0)))

    section(f"US dollars per million events, at list prices read on {PRICES_READ_ON} (us-east-1)")
    names = sorted(set().union(*[set(costs(m)) for _, m in columns if m is not None]))
    for name in names:
        row(f"process: {name}", each(lambda m, n=name: fmt(costs(m).get(n, 0.0), 3)))
    row("= to process a million events", each(lambda m: fmt(sum(costs(m).values()), 2)))
    stores = sorted(set().union(*[set(storage(m)) for _, m in columns if m is not None]), key=_short)
    for name in stores:
        row(f"keep a month: {_short(name)}", each(lambda m, n=name: fmt(storage(m).get(n, 0.0), 3)))
    row("= to keep a million events a month", each(lambda m: fmt(sum(storage(m).values()), 2)))

    print("\nTargets (issue 14): consumer invocations per event <= 0.05; hottest item <= 10 writes per 1,000 events;")
    print("<= 5 USD to process a million events; <= 0.50 USD to keep a million events a month.")
    if before is not None:
        print("Before: " + ", ".join(f"{name}={value:.4g}" for name, value in summary(before).items()))
    for name, value in summary(now).items():
        print(f"{name}={value:.4g}")


# ---------------------------------------------------------------------------------------------- processes


def worker(args: argparse.Namespace) -> None:
    measure = run(Path(args.root), args.events, args.customers, args.chunk, args.seed)
    payload = {name: (dict(value) if isinstance(value, Counter) else value) for name, value in vars(measure).items()}
    print("MEASURE " + json.dumps(payload, default=str))


def measure_in_subprocess(root: Path, events: int, customers: int, chunk: int, seed: int) -> Measure:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--root", str(root), "--events", str(events),
               "--customers", str(customers), "--chunk", str(chunk), "--seed", str(seed)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)
    line = next((line for line in reversed(done.stdout.splitlines()) if line.startswith("MEASURE ")), None)
    if done.returncode != 0 or line is None:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the harness failed on {root} (exit {done.returncode})")
    data = json.loads(line.removeprefix("MEASURE "))
    measure = Measure()
    for name, value in data.items():
        current = getattr(measure, name)
        if isinstance(current, Counter):
            value = Counter(value)
        elif isinstance(current, defaultdict):
            value = defaultdict(float, value)
        setattr(measure, name, value)
    return measure


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The tree of ``revision`` in a temporary folder (git archive), with this checkout's virtualenv."""
    with tempfile.TemporaryDirectory(prefix="pipeline-baseline-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", revision],  # noqa: S607
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=0, help="default: events / 10")
    parser.add_argument("--chunk", type=int, default=5_000, help="events sent before the pipeline is drained")
    parser.add_argument("--baseline", default=BASELINE_REVISION, help="git revision measured as 'before'")
    parser.add_argument("--baseline-events", type=int, default=2_000, help="0: no baseline")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.customers = args.customers or max(10, args.events // 10)
    if args.worker:
        worker(args)
        return 0
    before = None
    if args.baseline_events:
        with checkout(args.baseline) as tree:
            customers = max(10, args.baseline_events // 10)
            before = measure_in_subprocess(tree, args.baseline_events, customers, args.chunk, args.seed)
    now = measure_in_subprocess(ROOT, args.events, args.customers, args.chunk, args.seed)
    report(now, before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
