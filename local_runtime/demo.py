"""The demo journey ``make dev`` plays: one customer, five touchpoints, three channels, one bus.

It speaks to the running API the way the real clients do (Segment SDK payloads with a write key, signed
WhatsApp and POS webhooks), then reads back what landed: the bus events and the events table in moto.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import boto3
import requests

from local_runtime.runtime import DEFAULT_CONFIG

STACK_TABLE_HINT = "EventsTable"
SHARED_CODE = Path(__file__).resolve().parent.parent / "shared"


@dataclass
class Step:
    title: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    expect: int


def _config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(DEFAULT_CONFIG.read_text())
    return config


def _basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def journey(run: str, now: datetime) -> tuple[list[Step], list[tuple[str, str]]]:
    """The steps, and the customer's identifiers as they should read back (normalised)."""
    secrets = _config()["secrets"]["CaptureSecrets"]
    web_key, app_key = "dev-web-key", "dev-app-key"
    web_anon = f"web-{run}"
    email_typed, email = f"AYŞE.YILMAZ+{run}@Örnek.COM.TR", f"ayşe.yilmaz+{run}@örnek.com.tr"
    wa_id = "905321234567"
    phone = "+" + wa_id
    card = f"LC-{run.upper()}"
    app_context = {"library": {"name": "analytics-ios", "version": "4.1.0"}, "device": {"id": f"iphone-{run}"}}
    device_skew = timedelta(hours=-2)  # the phone's clock is two hours behind: capture corrects it

    def batch(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"batch": messages, "sentAt": _iso(now + device_skew)}

    app_batch = batch(
        [
            {
                # The app was installed from the web page's banner: the deferred deep link hands the web visitor's
                # anonymous id to the app, whose device has its own id.
                "type": "track",
                "event": "Application Installed",
                "anonymousId": web_anon,
                "messageId": f"{run}-installed",
                "timestamp": _iso(now + device_skew - timedelta(seconds=40)),
                "properties": {"version": "4.1.0", "build": "410"},
                "context": app_context,
            },
            {
                "type": "identify",
                "userId": f"cust-{run}",
                "anonymousId": web_anon,
                "messageId": f"{run}-identify",
                "timestamp": _iso(now + device_skew - timedelta(seconds=20)),
                "traits": {"email": email_typed, "phone": "0532 123 45 67", "name": "Ayşe Yılmaz", "loyaltyCard": card},
                "context": app_context,
            },
            {
                "type": "track",
                "event": "Product Added",
                "userId": f"cust-{run}",
                "anonymousId": web_anon,
                "messageId": f"{run}-added",
                "timestamp": _iso(now + device_skew - timedelta(seconds=5)),
                "properties": {"product_id": "SKU-KABAN-38", "name": "Yün kaban", "price": 2499.90, "currency": "TRY"},
                "context": app_context,
            },
        ]
    )
    app_body = gzip.compress(_json(app_batch))
    app_headers = {"Authorization": _basic(app_key), "Content-Type": "application/json", "Content-Encoding": "gzip"}

    whatsapp = _json(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "908501234567",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": f"wamid.{run}",
                                        "timestamp": str(int(now.timestamp())),
                                        "type": "text",
                                        "text": {"body": "Merhaba, kaban mağazada var mı? 你好"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )
    meta_signature = "sha256=" + hmac.new(secrets["meta_app_secret"].encode(), whatsapp, hashlib.sha256).hexdigest()

    store_id = "istanbul-kadikoy"
    pos = _json(
        {
            "type": "sale",
            "transaction_id": f"T-{run}",
            "occurred_at": _iso(now),
            "customer": {"loyalty_card": card, "email": email_typed},
            "currency": "TRY",
            "total": "2499.90",
            "items": [{"sku": "SKU-KABAN-38", "name": "Yün kaban", "quantity": 1, "price": "2499.90"}],
        }
    )
    timestamp = str(int(time.time()))
    pos_secret = secrets["pos_secrets"].get(store_id) or secrets["pos_secrets"]["*"]
    # The store signs b"<timestamp>.<store_id>." + body: the store id is signed, so the request cannot be replayed
    # to another store's path.
    pos_signed = f"{timestamp}.{store_id}.".encode() + pos
    pos_signature = hmac.new(pos_secret.encode(), pos_signed, hashlib.sha256).hexdigest()

    # Ayşe signs in to the app with Cognito: her ID token says her e-mail and phone are verified. The app hands it
    # to the profiles API, which ties them to her account (what her store purchase and her WhatsApp chat need to
    # be hers to see, and her online cart to follow her into the store).
    from local_runtime.auth import DevJwt

    id_token = DevJwt.from_config(_config()).issue(
        "customer",
        sub=f"cust-{run}",
        id_token=True,
        claims={"email": email, "email_verified": True, "phone_number": phone, "phone_number_verified": True},
    )
    steps = [
        Step(
            "1. web: an anonymous visitor views a product page (analytics.js call)",
            "POST",
            "/v1/page",
            _json(
                {
                    "anonymousId": web_anon,
                    "name": "Yün kaban",
                    "messageId": f"{run}-page",
                    "timestamp": _iso(now - timedelta(minutes=5)),  # viewed 5 minutes ago, sent now
                    "sentAt": _iso(now),
                    "properties": {"url": "https://shop.example/kaban"},
                    "context": {"library": {"name": "analytics.js"}},
                }
            ),
            {"Authorization": _basic(web_key), "Content-Type": "application/json"},
            200,
        ),
        Step(
            "2. app: installs the app from the web banner, logs in with e-mail and phone, adds the coat (gzip batch,"
            " skewed clock)",
            "POST",
            "/v1/batch",
            app_body,
            app_headers,
            200,
        ),
        Step(
            "3. app: the SDK retries the same batch (network blip): nothing is stored or published twice",
            "POST",
            "/v1/batch",
            app_body,
            app_headers,
            200,
        ),
        Step(
            "4. app: signed in with Cognito, it sends her ID token (e-mail and phone verified) to the profiles API",
            "POST",
            "/profiles/me/verified-identifiers",
            b"",
            {"Authorization": f"Bearer {id_token}"},
            200,
        ),
        Step(
            "5. whatsapp: writes from the phone number on the profile (signed webhook)",
            "POST",
            "/webhooks/whatsapp",
            whatsapp,
            {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature},
            200,
        ),
        Step(
            "6. store: buys the coat with the loyalty card (signed POS webhook); it leaves her online cart",
            "POST",
            f"/webhooks/pos/{store_id}",
            pos,
            {
                "Content-Type": "application/json",
                "X-Pos-Timestamp": timestamp,
                "X-Pos-Signature": f"sha256={pos_signature}",
            },
            200,
        ),
        Step(
            "7. a broken client: a track call without an event name is refused, naming the field",
            "POST",
            "/v1/track",
            _json({"userId": f"cust-{run}", "messageId": f"{run}-bad"}),
            {"Authorization": _basic(web_key), "Content-Type": "application/json"},
            400,
        ),
        Step(
            "8. a forged WhatsApp webhook (wrong signature) is refused and nothing is stored",
            "POST",
            "/webhooks/whatsapp",
            whatsapp,
            {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64},
            401,
        ),
    ]
    identifiers = [
        ("anonymous_id", web_anon),
        ("device_id", f"iphone-{run}"),
        ("email", email),
        ("phone", phone),
        ("whatsapp", wa_id),
        ("loyalty_card", card),
    ]
    return steps, identifiers


def _events_table(moto_endpoint: str) -> tuple[Any, str]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    names = [
        name for name in client.list_tables()["TableNames"] if STACK_TABLE_HINT in name or "events" in name.lower()
    ]
    return client, names[0]


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    """A stored event item's canonical event, with capture's own decoder (``omnichannel.stored_event``: compressed
    with a preset dictionary), from the repository's shared code."""
    if str(SHARED_CODE) not in sys.path:
        sys.path.append(str(SHARED_CODE))
    from omnichannel.stored_event import decode_event

    decoded: dict[str, Any] = decode_event(item).model_dump(mode="json", exclude_none=True)
    return decoded


def _events_of(client: Any, table: str, identifier_type: str, value: str) -> list[dict[str, Any]]:
    """The canonical events carrying one identifier, newest first. The table has no index by identifier (its
    readers know the ids they want); a local demo's table is small, so this scans it and decodes each event
    (capture keeps each one compact in its ``event`` attribute)."""
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "sk = :event",
        "ExpressionAttributeValues": {":event": {"S": "EVENT"}},
    }
    while True:
        page = client.scan(**request)
        for item in page.get("Items", []):
            decoded = _decode(item)
            if decoded.get("identifiers", {}).get(identifier_type) == value:
                events.append(decoded)
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(events, key=lambda event: str(event["occurred_at"]), reverse=True)


def _wait_for_bus(base_url: str, event_ids: set[str], timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        log = requests.get(f"{base_url}/_local/bus", timeout=60).json()
        seen = [event for event in log if event.get("detail", {}).get("event_id") in event_ids]
        if {event["detail"]["event_id"] for event in seen} >= event_ids:
            break
        time.sleep(0.2)
    return seen


SETTLE_REPORT_SECONDS = 10.0


def wait_until_delivered(base_url: str, *, limit: float = 1800.0, report: float = SETTLE_REPORT_SECONDS) -> bool:
    """Wait until the runtime has delivered everything sent so far (``GET /_local/backlog`` empty twice, 2 s
    apart), saying every ``report`` seconds how many deliveries still wait; False if ``limit`` ran out."""
    started = time.monotonic()
    next_report = started + report
    quiet = 0
    while time.monotonic() - started < limit:
        waiting: dict[str, int] = requests.get(f"{base_url}/_local/backlog", timeout=60).json()["waiting"]
        quiet = quiet + 1 if not waiting else 0
        if quiet >= 2:
            return True
        if waiting and time.monotonic() >= next_report:
            by_function: Counter[str] = Counter()
            for trigger, count in waiting.items():
                by_function[trigger.split(".")[0]] += count
            names = ", ".join(f"{function} {count}" for function, count in by_function.most_common(3))
            elapsed = int(time.monotonic() - started)
            print(f"  … {sum(waiting.values())} deliveries still waiting ({names}); {elapsed} s so far", flush=True)
            next_report = time.monotonic() + report
        time.sleep(2.0)
    return False


def run_demo(base_url: str, moto_endpoint: str) -> int:
    """Play the demo journey against the runtime at ``base_url``; 0 when everything went as expected."""
    base_url = base_url.rstrip("/")
    run = uuid.uuid4().hex[:6]
    steps, identifiers = journey(run, datetime.now(UTC))
    email = dict(identifiers)["email"]
    print(f"\n== Demo journey (run {run}): one customer across web, app, WhatsApp and a store ==")
    failures = 0
    for step in steps:
        response = requests.request(step.method, base_url + step.path, data=step.body, headers=step.headers, timeout=60)
        ok = response.status_code == step.expect
        failures += not ok
        summary = response.text if len(response.text) < 160 else response.text[:157] + "..."
        print(
            f"{'ok ' if ok else 'BAD'} {step.title}\n"
            f"      {step.method} {step.path} -> {response.status_code} {summary}"
        )

    client, table = _events_table(moto_endpoint)
    stored: dict[str, dict[str, Any]] = {}
    print(f"\nWhat the events table ({table}) holds per identifier, newest first (a scan: the table has no index):")
    for identifier_type, value in identifiers:
        items = _events_of(client, table, identifier_type, value)
        for item in items:
            stored[item["event_id"]] = item
        kinds = ", ".join(f"{i['channel']}:{i.get('name') or i['type']}" for i in items)
        print(f"  {identifier_type:<13} {value:<34} {len(items)} event(s)  {kinds}")

    events_on_bus = _wait_for_bus(base_url, set(stored))
    print(f"\nOn the bus ({len(events_on_bus)} of {len(stored)} stored events, each once):")
    for event in events_on_bus:
        detail = event["detail"]
        print(
            f"  {detail['occurred_at']}  {detail['channel']:<9} {event['detail-type']:<16} "
            f"event_id {detail['event_id']}"
        )
    once = len(events_on_bus) == len(stored) == len({e["detail"]["event_id"] for e in events_on_bus})
    expected_events = 6  # page, app installed, identify, product added, whatsapp message, store order
    if len(stored) != expected_events or not once:
        failures += 1
        print(f"BAD expected {expected_events} events, each on the bus once; found {len(stored)} stored")
    failures += _show_profile(base_url, email, len(stored))
    failures += _show_cart(base_url, run)
    failures += _fill_console(base_url, run, email)
    print("\nTry it yourself:\n" + try_it_yourself(base_url, moto_endpoint, table, email) + "\n")
    print("Demo finished: all steps as expected." if failures == 0 else f"Demo finished with {failures} problem(s).")
    return 0 if failures == 0 else 1


def try_it_yourself(base_url: str, moto_endpoint: str, table: str, email: str) -> str:
    """The closing hints; each works as it is in a clean shell (``tests/local_runtime/test_shell_hints.py``)."""
    from urllib.parse import quote

    from local_runtime.shell import aws_cli_line, default_region

    return "\n".join(
        [
            f"  curl -s -u dev-write-key: -H 'content-type: application/json' "
            f'-d \'{{"userId":"u1","event":"Product Added"}}\' {base_url}/v1/track',
            f'  TOKEN=$(make -s token ROLE=agent); curl -s -H "Authorization: Bearer $TOKEN" '
            f"'{base_url}/profiles?email={quote(email, safe='@')}'",
            "  "
            + aws_cli_line(
                moto_endpoint, default_region(), "dynamodb", "scan", "--table-name", table, "--max-items", "3"
            ),
            '  (or once per shell: eval "$(make -s env)", then any aws or boto3 command reaches the runtime)',
        ]
    )


def _show_profile(base_url: str, email: str, expected_events: int, timeout: float = 120.0) -> int:
    """Ask the profiles API, as an agent would, who this e-mail is; 0 when it is one profile with every event."""
    from local_runtime.auth import DevJwt

    headers = {"Authorization": "Bearer " + DevJwt.from_config(_config()).issue("agent", sub="demo-agent")}
    deadline = time.monotonic() + timeout
    profile: dict[str, Any] = {}
    timeline: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = requests.get(f"{base_url}/profiles", params={"email": email}, headers=headers, timeout=60)
        if found.status_code == HTTPStatus.OK:
            profile = found.json()
            page = requests.get(
                f"{base_url}/profiles/{profile['profile_id']}/timeline", headers=headers, timeout=60
            ).json()
            timeline = page["events"]
            if len(timeline) >= expected_events and "loyalty_card" in profile["identifiers"]:
                break
        time.sleep(0.3)
    print(
        f"\nOne customer: the profile an agent finds by e-mail (GET /profiles?email=...) is {profile.get('profile_id')}"
    )
    for kind, values in profile.get("identifiers", {}).items():
        print(f"  {kind:<13} {', '.join(values)}")
    touch = profile.get("first_touch") or {}
    print(f"  first touch   {touch.get('channel')} at {touch.get('occurred_at')}; channels {profile.get('channels')}")
    print("Its timeline across every channel, newest first (GET /profiles/{id}/timeline):")
    for event in timeline:
        print(f"  {event['occurred_at']}  {event['channel']:<9} {event.get('name') or event['type']}")
    if len(timeline) != expected_events:
        print(f"BAD expected the profile's timeline to hold all {expected_events} events; it holds {len(timeline)}")
        return 1
    return 0


def _show_cart(base_url: str, run: str, timeout: float = 120.0) -> int:
    """Her online cart, as her own token reads it: the coat she bought in the store has left it."""
    from local_runtime.auth import DevJwt

    headers = {"Authorization": "Bearer " + DevJwt.from_config(_config()).issue("customer", sub=f"cust-{run}")}
    deadline = time.monotonic() + timeout
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = requests.get(f"{base_url}/carts/me", headers=headers, timeout=60)
        lines = answer.json().get("lines", []) if answer.status_code == HTTPStatus.OK else []
        if not any(line["product_id"] == "SKU-KABAN-38" for line in lines):
            break
        time.sleep(0.3)
    left = [line["product_id"] for line in lines]
    print(
        "\nHer online cart (GET /carts/me with her token): the coat she added in the app was bought in the store"
        f" with her loyalty card, so it left the cart: {left or 'empty'}"
    )
    if "SKU-KABAN-38" in left:
        print("BAD the coat bought in the store is still in her online cart")
        return 1
    return 0


def _fill_console(base_url: str, run: str, demo_email: str, timeout: float = 120.0) -> int:
    """Fill the console with a multi-channel dataset (local_runtime/demo_data.py) and say where to look; 0 when
    every request was accepted and the KPIs counted every order."""
    from local_runtime import demo_data
    from local_runtime.auth import DevJwt

    config = _config()
    jwt = DevJwt.from_config(config)

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if path == "/_local/schedules":
            # The abandonment sweep must see every cart line sent before it: wait for them here, saying how many
            # deliveries are left (minutes on a busy 2-core machine), so its own settling is short
            print("  the functions are working through what was sent; the abandonment sweep runs after", flush=True)
            wait_until_delivered(base_url)
        response = requests.request(method, base_url + path, data=body, headers=headers, timeout=300)
        return response.status_code, response.text

    now = datetime.now(UTC)
    started = time.monotonic()
    print(
        "\nFilling the console: 30 customers (Turkish, Chinese, English) across web, app, store and WhatsApp…",
        flush=True,
    )
    data = demo_data.seed(
        send,
        run=run,
        now=now,
        admin_token=jwt.issue("admin", sub="demo-admin"),
        meta_app_secret=config["secrets"]["CaptureSecrets"]["meta_app_secret"],
    )
    for problem in data.problems:
        print(f"BAD {problem}")
    print(f"  sent {data.events} events; waiting for the functions to deliver them all", flush=True)
    wait_until_delivered(base_url)
    headers = {"Authorization": "Bearer " + jwt.issue("agent", sub="demo-agent")}
    start = (now - timedelta(days=130)).date().isoformat()
    deadline = time.monotonic() + timeout
    orders = 0
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{base_url}/kpis", params={"start": start, "granularity": "total"}, headers=headers, timeout=60
        )
        if answer.status_code == HTTPStatus.OK:
            orders = int(answer.json()["totals"]["orders"])
            if orders >= data.orders:
                break
        time.sleep(1.0)
    ok = orders >= data.orders and not data.problems
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    print(
        f"{'ok ' if ok else 'BAD'} {len(data.customers)} customers, {data.events} events, {data.orders} orders sent;"
        f" the KPIs count {orders} orders since {start} (filled in {minutes} min {seconds:02d} s)"
    )
    chinese = next(person for person in data.customers if person["lang"] == "zh")
    print(
        f"\nConsole: {base_url}/console  (press “Dev sign-in”, or paste `make token ROLE=agent`)\n"
        f"  search e-mail {demo_email} (the journey above), phone {chinese['phone']} ({chinese['name']},"
        " wrote on WhatsApp), then create a handoff and redeem its code; KPIs: the dashboard"
    )
    return 0 if ok else 1
