"""Hostile input against every API, through the local runtime, as an attacker holding the public write key and their
own customer token would send it (and as broken clients do).

Every input class gets a clear 4xx naming the field (or, where the input is legal, is stored unchanged and does no
harm), never a 5xx; and afterwards a real customer's profile, cart, timeline and KPIs still read fine.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.http_gateway import MAX_PAYLOAD_BYTES
from local_runtime.runtime import LocalRuntime
from tests import webhook_samples as samples
from tests.e2e.conftest import TEMPLATE

CUSTOMER = "cust-hostile-1"
EMAIL = "ayse.hostile@ornek.com.tr"
DEVICE = "device-hostile-0001"
NOW = datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Attempt:
    """One hostile request and what it must get: ``status``, and the field an error must name (or that a batch
    must list as refused)."""

    kind: str
    method: str
    path: str
    status: int
    named: str | None = None
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None


@dataclass
class Record:
    kinds: set[str] = field(default_factory=set)
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    largest: tuple[int, str] = (0, "")


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as runtime:
        yield runtime


def _write_key() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"dev-write-key:").decode()}


def _bearer(rt: LocalRuntime, role: str, sub: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + rt.token(role, sub=sub)}


def _track(event: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": CUSTOMER, "event": event, "properties": properties, **extra}


def _track_text(properties: str) -> str:
    """A track call as text, for what json.dumps cannot write (NaN as the bare word, a lone surrogate escape)."""
    return '{"userId":"' + CUSTOMER + '","event":"E","properties":' + properties + "}"


def _meta(payload_text: str) -> tuple[bytes, dict[str, str]]:
    body = payload_text.encode()
    return body, {"content-type": "application/json", "x-hub-signature-256": samples.meta_signature(body)}


def _pos(body: bytes, store_id: str = samples.POS_STORE_ID) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "content-type": "application/json",
        "x-pos-timestamp": str(stamp),
        "x-pos-signature": samples.pos_signature(body, stamp, store_id),
    }


def _gzip_bomb() -> bytes:
    return gzip.compress(b"[" + b" " * (8 * 1024 * 1024) + b"]", compresslevel=9)


def _meta_9999() -> str:
    """A WhatsApp notification signed by Meta but dated 9999-12-31 (a provider's clock gone wrong)."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1"},
                                "contacts": [{"wa_id": "905321119999", "profile": {"name": "X"}}],
                                "messages": [
                                    {
                                        "from": "905321119999",
                                        "id": "wamid.hostile9999",
                                        "timestamp": "253402300799",
                                        "type": "text",
                                        "text": {"body": "merhaba"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        },
        separators=(",", ":"),
    )


def _attempts(rt: LocalRuntime) -> list[Attempt]:
    key = _write_key()
    json_key = {**key, "content-type": "application/json"}
    me = {**_bearer(rt, "customer", CUSTOMER), "content-type": "application/json"}
    agent = {**_bearer(rt, "agent", "agent-hostile"), "content-type": "application/json"}
    admin = {**_bearer(rt, "admin", "admin-hostile"), "content-type": "application/json"}
    device = {"X-Anonymous-Id": DEVICE, "content-type": "application/json"}
    line = {"product_id": "SKU-H", "quantity": 1, "unit_price": "10.00", "currency": "TRY"}
    not_utf8 = b'{"product_id": "\xff\xfe"}'
    far_past, far_future = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
    good = _track("Page Scrolled", {"depth": 1})
    meta_9999 = _meta_9999()
    pos_year_1 = json.dumps({**samples.pos_sale_payload("T-H1"), "occurred_at": "0001-01-01T00:00:00+03:00"}).encode()
    pos_nan = json.dumps(samples.pos_sale_payload("T-H2")).replace('"129.90"', "NaN").encode()
    return [
        # ------------------------------------------------------------ poison timestamps (capture is the gate)
        Attempt(
            "timestamp year 1",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("Order Completed", {"order_id": "o-h1", "total": 5, "currency": "TRY"}, timestamp=far_past),
            json_key,
        ),
        Attempt(
            "timestamp year 9999",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("Product Added", {"product_id": "P"}, timestamp=far_future),
            json_key,
        ),
        Attempt(
            "timestamp before 2000",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("E", {}, timestamp="1999-12-31T23:59:59Z"),
            json_key,
        ),
        Attempt(
            "timestamp two days ahead",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("E", {}, timestamp=_iso(NOW + timedelta(days=2))),
            json_key,
        ),
        Attempt(
            "timestamp five-digit year",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("E", {}, timestamp="+10000-01-01T00:00:00Z"),
            json_key,
        ),
        Attempt(
            "timestamp as a huge epoch",
            "POST",
            "/v1/track",
            400,
            "timestamp",
            _track("E", {}, timestamp=10**15),
            json_key,
        ),
        Attempt(
            "sentAt year 1 on a batch",
            "POST",
            "/v1/batch",
            400,
            "sentAt",
            {"batch": [good], "sentAt": far_past},
            json_key,
        ),
        Attempt(
            "import older than 1970",
            "POST",
            "/v1/import",
            400,
            "batch.0.timestamp",
            {"batch": [_track("E", {}, timestamp="1969-07-20T20:17:40Z")]},
            json_key,
        ),
        Attempt(
            "one poison message in a batch",
            "POST",
            "/v1/batch",
            200,
            "batch.1.timestamp",
            {"batch": [good, _track("E", {}, timestamp=far_past)]},
            json_key,
        ),
        # ------------------------------------------------------------ numbers
        Attempt(
            "NaN",
            "POST",
            "/v1/track",
            400,
            "properties.price",
            _track_text('{"price":NaN}'),
            json_key,
        ),
        Attempt(
            "Infinity",
            "POST",
            "/v1/track",
            400,
            "properties.price",
            _track_text('{"price":-Infinity}'),
            json_key,
        ),
        Attempt(
            "1e400",
            "POST",
            "/v1/track",
            400,
            "properties.price",
            _track_text('{"price":1e400}'),
            json_key,
        ),
        Attempt(
            "1e-200",
            "POST",
            "/v1/track",
            400,
            "properties.price",
            _track_text('{"price":1e-200}'),
            json_key,
        ),
        Attempt(
            "integer of 5,000 digits",
            "POST",
            "/v1/track",
            400,
            "properties.n",
            _track_text('{"n":' + "9" * 5000 + "}"),
            json_key,
        ),
        Attempt(
            "integer of 5,000 digits, no write key",
            "POST",
            "/v1/batch",
            401,
            None,
            '{"batch":[{"n":' + "9" * 5000 + "}]}",
            {"content-type": "application/json"},
        ),
        Attempt(
            "price 1e308, quantity 2**64",
            "POST",
            "/v1/track",
            400,
            "properties.quantity",
            _track("Product Added", {"product_id": "P", "price": 1e308, "quantity": 2**64}),
            json_key,
        ),
        Attempt("userId 2**60", "POST", "/v1/identify", 400, "userId", {"userId": 2**60}, json_key),
        Attempt(
            "cart line quantity 2**64", "POST", "/carts/me/lines", 400, "quantity", {**line, "quantity": 2**64}, me
        ),
        Attempt("cart price 1e308", "POST", "/carts/me/lines", 400, "unit_price", {**line, "unit_price": 1e308}, me),
        Attempt(
            "cart price NaN",
            "POST",
            "/carts/anonymous/lines",
            400,
            "unit_price",
            json.dumps(line).replace('"10.00"', "NaN"),
            device,
        ),
        Attempt(
            "store lon 1e-200", "PUT", "/handoff/stores/H-1", 400, "lon", '{"name":"H","lat":41.0,"lon":1e-200}', admin
        ),
        Attempt("store lat NaN", "PUT", "/handoff/stores/H-1", 400, "lat", '{"name":"H","lat":NaN,"lon":29.0}', admin),
        Attempt(
            "stores near lat=nan", "GET", "/handoff/stores", 400, "query.lat", None, agent, {"lat": "nan", "lon": "29"}
        ),
        Attempt(
            "spend amount of 5,000 digits",
            "POST",
            "/kpis/spend",
            400,
            "rows.0.amount",
            {"rows": [{"day": "2026-01-01", "channel": "web", "amount": "9" * 5000, "currency": "TRY"}]},
            admin,
        ),
        # ------------------------------------------------------------ dates of the read APIs
        Attempt("kpis end=0737-01-20", "GET", "/kpis", 400, "query.end", None, agent, {"end": "0737-01-20"}),
        Attempt("kpis start=9999-12-31", "GET", "/kpis", 400, "query.start", None, agent, {"start": "9999-12-31"}),
        Attempt(
            "cohorts month 0000-00",
            "GET",
            "/kpis/cohorts",
            400,
            "query.from_month",
            None,
            agent,
            {"from_month": "0000-00"},
        ),
        Attempt(
            "spend day 0001-01-01",
            "POST",
            "/kpis/spend",
            400,
            "rows.0.day",
            {"rows": [{"day": "0001-01-01", "channel": "web", "amount": "1", "currency": "TRY"}]},
            admin,
        ),
        Attempt(
            "agent task outcome 2**64",
            "POST",
            "/handoff/tasks/task-1/done",
            400,
            "outcome",
            {"outcome": 2**64},
            agent,
        ),
        Attempt(
            "agent task outcome of 5,000 characters",
            "POST",
            "/handoff/tasks/task-1/done",
            400,
            "outcome",
            {"outcome": "x" * 5000},
            agent,
        ),
        # ------------------------------------------------------------ bodies that are not UTF-8 text
        *[
            Attempt(f"not UTF-8: {method} {path}", method, path, 400, "body", not_utf8, headers)
            for method, path, headers in (
                ("POST", "/carts/me/lines", me),
                ("POST", "/carts/anonymous/lines", device),
                ("POST", "/handoff/tickets", agent),
                ("POST", "/handoff/tickets/ABCD-EFGH/redeem", agent),
                ("POST", "/handoff/tasks/task-1/done", agent),
                ("POST", "/kpis/spend", admin),
                ("PUT", "/handoff/stores/H-1", admin),
                ("POST", "/v1/track", json_key),
            )
        ],
        # ------------------------------------------------------------ amplification: batch size, answer size
        Attempt(
            "160,000 empty messages",
            "POST",
            "/v1/batch",
            400,
            "batch",
            '{"batch":[' + ",".join(["{}"] * 160_000) + "]}",
            json_key,
        ),
        Attempt(
            "2,500 refused messages",
            "POST",
            "/v1/batch",
            400,
            "batch.0.userId",
            {"batch": [{"event": "E", "type": "track"}] * 2500},
            json_key,
        ),
        Attempt("gzip bomb", "POST", "/v1/batch", 413, "body", _gzip_bomb(), {**json_key, "Content-Encoding": "gzip"}),
        Attempt(
            "an encoding nobody takes",
            "POST",
            "/v1/batch",
            415,
            "header.content-encoding",
            b"{}",
            {**json_key, "Content-Encoding": "br"},
        ),
        Attempt(
            "gzip to an API that takes none",
            "POST",
            "/carts/me/lines",
            415,
            "header.content-encoding",
            gzip.compress(json.dumps(line).encode()),
            {**me, "Content-Encoding": "gzip"},
        ),
        Attempt("11 MB body", "POST", "/v1/batch", 413, None, b" " * (MAX_PAYLOAD_BYTES + 1024 * 1024), json_key),
        Attempt("600 KB batch", "POST", "/v1/batch", 413, "body", '{"batch":[],"x":"' + "a" * 600_000 + '"}', json_key),
        # ------------------------------------------------------------ structure
        Attempt("nesting 100,000 deep", "POST", "/v1/batch", 400, "body", "[" * 100_000 + "]" * 100_000, json_key),
        Attempt(
            "nesting 30 deep in properties",
            "POST",
            "/v1/track",
            400,
            None,
            _track("E", {"a": json.loads("[" * 30 + "]" * 30)}),
            json_key,
        ),
        Attempt(
            "nesting 100,000 deep in a cart body",
            "POST",
            "/carts/me/lines",
            400,
            "body",
            "[" * 100_000 + "]" * 100_000,
            me,
        ),
        Attempt(
            "a huge array in one message",
            "POST",
            "/v1/track",
            413,
            "body",
            _track("E", {"a": list(range(20_000))}),
            json_key,
        ),
        Attempt(
            "duplicate keys",
            "POST",
            "/v1/track",
            400,
            "userId",
            '{"userId":"a-user-1","userId":"b-user-2","event":"E"}',
            json_key,
        ),
        Attempt(
            "duplicate keys in a cart line",
            "POST",
            "/carts/me/lines",
            400,
            "product_id",
            '{"product_id":"A","product_id":"B","unit_price":"1","currency":"TRY"}',
            me,
        ),
        Attempt(
            "a lone surrogate",
            "POST",
            "/v1/track",
            400,
            "properties.name",
            _track_text('{"name":"\\ud800"}'),
            json_key,
        ),
        Attempt(
            "a raw control character",
            "POST",
            "/v1/track",
            400,
            "body",
            '{"userId":"' + CUSTOMER + '","event":"E\x01"}',
            json_key,
        ),
        Attempt("not an object", "POST", "/v1/batch", 400, "body", "[1, 2, 3]", json_key),
        Attempt("batch is not a list", "POST", "/v1/batch", 400, "batch", {"batch": "everything"}, json_key),
        Attempt("empty body to a JSON route", "POST", "/carts/me/lines", 400, "body", b"", me),
        # ------------------------------------------------------------ media types and methods
        Attempt(
            "text/plain to a JSON route",
            "POST",
            "/carts/me/lines",
            415,
            "header.content-type",
            json.dumps(line),
            {**me, "content-type": "text/plain"},
        ),
        Attempt(
            "a form to a JSON route",
            "POST",
            "/handoff/tickets",
            415,
            "header.content-type",
            "profile_id=x&reason=y",
            {**agent, "content-type": "application/x-www-form-urlencoded"},
        ),
        Attempt(
            "XML to a JSON route",
            "PUT",
            "/handoff/stores/H-1",
            415,
            "header.content-type",
            "<store/>",
            {**admin, "content-type": "application/xml"},
        ),
        Attempt("GET on a POST route", "GET", "/v1/track", 404, None, None, key),
        Attempt("DELETE on a read route", "DELETE", "/kpis", 404, None, None, agent),
        Attempt("PATCH on the batch route", "PATCH", "/v1/batch", 404, None, b"{}", json_key),
        # ------------------------------------------------------------ paths, queries, headers
        Attempt("a 10,000-character path", "GET", "/profiles/" + "p" * 10_000, 400, "path.profile_id", None, agent),
        Attempt("an encoded slash in a path", "GET", "/carts/customers/a%2F..%2Fb", 403, None, None, me),
        Attempt(
            "a 20,000-character query value",
            "GET",
            "/profiles",
            400,
            "query.email",
            None,
            agent,
            {"email": "a" * 20_000},
        ),
        Attempt(
            "a 10 KB X-Anonymous-Id",
            "GET",
            "/carts/anonymous",
            400,
            "header.x-anonymous-id",
            None,
            {"X-Anonymous-Id": "x" * 10_000},
        ),
        Attempt(
            "a stale If-Match of 40 digits",
            "POST",
            "/carts/me/lines",
            400,
            "header.if-match",
            line,
            {**me, "If-Match": "9" * 40},
        ),
        Attempt("an unknown short path", "POST", "/v1/zz", 404, "path.short", good, json_key),
        Attempt(
            "a write key that is an object",
            "POST",
            "/v1/batch",
            401,
            None,
            {"batch": [good], "writeKey": {"$ne": ""}},
            {"content-type": "application/json"},
        ),
        Attempt(
            "a forged bearer token",
            "GET",
            "/profiles/me",
            401,
            None,
            None,
            {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."},
        ),
        Attempt(
            "a rebound Host", "POST", "/_local/token", 421, None, {"role": "admin"}, {"Host": "rebind.attacker.example"}
        ),
        # ------------------------------------------------------------ webhooks get the same gates
        Attempt(
            "POS sale in year 1",
            "POST",
            f"/webhooks/pos/{samples.POS_STORE_ID}",
            400,
            "occurred_at",
            pos_year_1,
            _pos(pos_year_1),
        ),
        Attempt("POS total NaN", "POST", f"/webhooks/pos/{samples.POS_STORE_ID}", 400, "total", pos_nan, _pos(pos_nan)),
        Attempt(
            "signed Meta payload with NaN",
            "POST",
            "/webhooks/whatsapp",
            400,
            "entry.0.x",
            *_meta('{"object":"whatsapp_business_account","entry":[{"x":NaN}]}'),
        ),
        Attempt("signed Meta message dated 9999", "POST", "/webhooks/whatsapp", 200, None, *_meta(meta_9999)),
        # ------------------------------------------------------------ legal but odd: stored unchanged, harmless
        Attempt(
            "a price as the string 1e400",
            "POST",
            "/v1/track",
            200,
            None,
            _track("Product Added", {"product_id": "SKU-ODD", "price": "1e400", "quantity": 1}),
            json_key,
        ),
        Attempt(
            "unicode oddities",
            "POST",
            "/v1/track",
            200,
            None,
            _track(
                "Ürün\u200dGörüldü \u202egnp.exe",
                {"name": "e\u0301 \U0001f9d5\u200d\u2640\ufe0f \u0000 \ufeff", "ar": "\u0645\u0631\u062d\u0628\u0627"},
            ),
            json_key,
        ),
        Attempt(
            "analytics.js sendBeacon text/plain",
            "POST",
            "/v1/t",
            200,
            None,
            json.dumps(_track("Beacon", {})),
            {**key, "content-type": "text/plain"},
        ),
    ]


def _named(answer: Any, wanted: str) -> bool:
    body = answer.json()
    fields = [error["field"] for error in body.get("errors", [])]
    fields += [error["field"] for item in body.get("rejected", []) for error in item["errors"]]
    return wanted in fields


@pytest.fixture(scope="module")
def customer(rt: LocalRuntime) -> dict[str, str]:
    """A real customer: identified, a product in the cart, one order; every consumer has processed it."""
    key = {**_write_key(), "content-type": "application/json"}
    for call, body in (
        ("identify", {"userId": CUSTOMER, "traits": {"email": EMAIL, "name": "Ayşe"}}),
        ("track", _track("Product Added", {"product_id": "SKU-1", "price": 19.9, "quantity": 2, "currency": "TRY"})),
        (
            "track",
            _track("Order Completed", {"order_id": "o-real-1", "total": 39.8, "revenue": 39.8, "currency": "TRY"}),
        ),
        ("track", _track("Product Added", {"product_id": "SKU-2", "price": 5, "quantity": 1, "currency": "TRY"})),
    ):
        answer = rt.request("POST", f"/v1/{call}", headers=key, body=body)
        assert answer.status == 200, answer.body
    for _ in range(4):
        rt.drain()
    return {
        "agent": "Bearer " + rt.token("agent", sub="agent-reader"),
        "me": "Bearer " + rt.token("customer", sub=CUSTOMER),
    }


def test_every_hostile_input_gets_a_clear_4xx_or_is_stored_harmlessly(
    rt: LocalRuntime, customer: dict[str, str]
) -> None:
    record = Record()
    for attempt in _attempts(rt):
        # When the hostile request is sent
        answer = rt.request(
            attempt.method, attempt.path, headers=attempt.headers, body=attempt.body, query=attempt.query
        )
        record.kinds.add(attempt.kind)
        record.requests += 1
        if answer.status >= 500:
            record.server_errors.append(f"{attempt.kind}: {answer.status} {answer.body[:200]!r}")
            continue
        record.largest = max(record.largest, (len(answer.body), attempt.kind))
        # Then it gets the status it deserves, a JSON body with a message, and the field is named
        assert answer.status == attempt.status, (attempt.kind, answer.status, answer.body[:300])
        assert answer.headers["content-type"].startswith("application/json"), attempt.kind
        if answer.status >= 400:
            assert answer.json()["message"], attempt.kind
        if attempt.named is not None:
            assert _named(answer, attempt.named), (attempt.kind, attempt.named, answer.body[:300])
    rt.drain()
    print(  # the figures for the record (pytest -s)
        f"\nhostile input: {len(record.kinds)} classes, {record.requests} requests, {len(record.server_errors)} 5xx, "
        f"largest answer {record.largest[0] / 1024:.1f} KB ({record.largest[1]})"
    )
    assert record.server_errors == []
    assert record.largest[0] < 64 * 1024

    # And afterwards the customer's profile, cart, timeline and KPIs read fine
    agent = {"Authorization": customer["agent"]}
    me = {"Authorization": customer["me"]}
    profile = rt.request("GET", "/profiles", query={"email": EMAIL}, headers=agent)
    assert profile.status == 200, profile.body
    profile_id = profile.json()["profile_id"]
    assert rt.request("GET", "/profiles/me", headers=me).json()["profile_id"] == profile_id
    timeline = rt.request("GET", f"/profiles/{profile_id}/timeline", query={"limit": "200"}, headers=agent)
    assert timeline.status == 200, timeline.body
    events = timeline.json()["events"]
    names = [event.get("name") for event in events]
    assert {"Order Completed", "Product Added", "Ürün\u200dGörüldü \u202egnp.exe"} <= set(names)
    assert all("2000-01-01" <= event["occurred_at"] <= _iso(NOW + timedelta(days=1)) for event in events)
    odd = next(event for event in events if event.get("name") == "Ürün\u200dGörüldü \u202egnp.exe")
    assert odd["properties"]["name"] == "e\u0301 \U0001f9d5\u200d\u2640\ufe0f \u0000 \ufeff"  # unchanged
    cart = rt.request("GET", "/carts/me", headers=me)
    assert cart.status == 200, cart.body
    assert {line["product_id"] for line in cart.json()["lines"]} >= {"SKU-2"}
    assert rt.request("GET", f"/carts/customers/{CUSTOMER}", headers=agent).status == 200
    assert rt.request("GET", f"/carts/profiles/{profile_id}", headers=agent).status == 200
    value = rt.request("GET", f"/kpis/customers/{CUSTOMER}", headers=agent)
    assert value.status == 200, value.body
    assert value.json()["known"] is True
    assert value.json()["frequency"] == 1  # the one real order; nothing poisoned counted
    kpis = rt.request("GET", "/kpis", headers=agent)
    assert kpis.status == 200, kpis.body
    context = rt.request("GET", f"/handoff/customers/{profile_id}/context", headers=agent)
    assert context.status == 200, context.body


def test_the_signed_provider_message_from_year_9999_is_dated_when_it_arrived(
    rt: LocalRuntime, customer: dict[str, str]
) -> None:
    # Given the Meta notification above, signed by Meta but dated 9999-12-31, was accepted (a provider would retry
    # a refusal for days): its event is dated when it arrived, so no consumer ever sees year 9999
    # (sent here too, so the test does not depend on the corpus test running first on the same worker; the second
    # copy is a duplicate of the same wamid)
    sent = rt.request("POST", "/webhooks/whatsapp", headers=_meta(_meta_9999())[1], body=_meta(_meta_9999())[0])
    assert sent.status == 200, sent.body
    rt.drain()
    agent = {"Authorization": customer["agent"]}
    found = rt.request("GET", "/profiles", query={"identifier": "whatsapp:905321119999"}, headers=agent)
    assert found.status == 200, found.body
    timeline = rt.request("GET", f"/profiles/{found.json()['profile_id']}/timeline", headers=agent).json()
    assert [event["occurred_at"][:4] for event in timeline["events"]] == [str(NOW.year)]
