"""A believable multi-channel dataset for the console: a few dozen customers (Turkish, Chinese and English
names) and twice as many visitors who never sign in, with visits (most without an order), sign-ups, orders
across web, app, store and WhatsApp over the last four months, surveys (NPS and CSAT), carts left open, carts
abandoned and then bought (recovered revenue), a WhatsApp conversation, and marketing spend per channel.

Everything goes through the product's own APIs the way real clients send it (Segment batches with a write key,
a signed WhatsApp webhook, ``POST /kpis/spend`` as an admin), so every function's rollups fill as in production.
One local-only call: ``POST /_local/schedules`` runs the cart abandonment sweep before the recovering orders.
``send`` is any ``(method, path, body, headers) -> (status, text)``: the demo passes ``requests``, the tests the
runtime's in-process gateway. Deterministic for a given ``seed`` and ``now``, except that the recovering orders
are stamped when they are sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

Send = Callable[[str, str, bytes, dict[str, str]], tuple[int, str]]

NAMES = [
    ("Ayşe", "Yılmaz", "tr"), ("王", "芳", "zh"), ("Mehmet", "Öztürk", "tr"), ("Emma", "Walker", "en"),
    ("Zeynep", "Çelik", "tr"), ("李", "伟", "zh"), ("Emre", "Şahin", "tr"), ("Oliver", "Brown", "en"),
    ("Elif", "Doğan", "tr"), ("张", "静", "zh"), ("Çağrı", "Güneş", "tr"), ("Sophie", "Clarke", "en"),
    ("Gülşen", "Aydın", "tr"), ("刘", "洋", "zh"), ("İbrahim", "Koç", "tr"), ("James", "Taylor", "en"),
    ("Şule", "Kılıç", "tr"), ("陈", "晨", "zh"), ("Oğuz", "Erdoğan", "tr"), ("Lucy", "Evans", "en"),
    ("Büşra", "Yıldız", "tr"), ("杨", "雪", "zh"), ("Hakan", "Arslan", "tr"), ("Daniel", "Hughes", "en"),
    ("Özlem", "Kaya", "tr"), ("赵", "磊", "zh"), ("Barış", "Aksoy", "tr"), ("黄", "丽", "zh"),
    ("Ilgın", "Tunç", "tr"), ("Amelia", "Wright", "en"),
]  # fmt: skip
PRODUCTS = [
    ("SKU-KABAN-38", "Yün kaban", Decimal("2499.90")),
    ("SKU-ATKI-01", "İpek atkı", Decimal("649.50")),
    ("SKU-CAY-SET", "Çay takımı 茶具", Decimal("899.00")),
    ("SKU-BOOT-41", "Deri bot", Decimal("1899.00")),
    ("SKU-TEA-500", "Oolong 乌龙茶 500 g", Decimal("329.90")),
    ("SKU-SCARF-02", "Cashmere scarf", Decimal("1249.00")),
]
ORDER_CHANNELS = ["web", "app", "store", "whatsapp"]
SPEND_PER_DAY = {"web": Decimal("450.00"), "app": Decimal("300.00"), "whatsapp": Decimal("120.00")}
WEB_KEY, APP_KEY, DEV_KEY = "dev-web-key", "dev-app-key", "dev-write-key"


@dataclass
class Dataset:
    """What was sent: enough for the demo to print and for tests to know what to expect."""

    customers: list[dict[str, str]] = field(default_factory=list)
    events: int = 0
    orders: int = 0
    recovered: int = 0  # orders of carts abandoned before (the abandonment sweep runs between)
    problems: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _basic(write_key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _customers(run: str, count: int) -> list[dict[str, str]]:
    people = []
    for index, (first, last, lang) in enumerate(NAMES[:count]):
        chinese = lang == "zh"
        name = f"{first}{last}" if chinese else f"{first} {last}"  # a Chinese name: family name first
        tag = hashlib.sha1(name.encode()).hexdigest()[:6]  # noqa: S324 - a stable tag, not security
        number = int(hashlib.sha1(f"{run}{index}".encode()).hexdigest()[:7], 16) % 10_000_000  # noqa: S324
        people.append(
            {
                "user_id": f"cust-{run}-{index:02d}",
                "anonymous_id": f"web-{run}-{index:02d}",
                "name": name,
                # Not example.com: the profiles function ignores e-mails of reserved example domains.
                "email": f"kehu{index}.{tag}+{run}@example.cn"
                if chinese
                else f"{tag}.{index}+{run}@ornek.com.tr"
                if lang == "tr"
                else f"{first.lower()}.{index}+{run}@example.co.uk",
                "phone": f"+86138{number:08d}" if chinese else f"+90532{number:07d}",
                "lang": lang,
            }
        )
    return people


def build(run: str, now: datetime, *, customers: int = 30, seed: int = 7) -> tuple[list[dict[str, Any]], Dataset]:
    """The Segment messages (each with the write key it is sent with under ``_key``) and what they hold."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    data = Dataset(customers=_customers(run, customers))
    messages: list[dict[str, Any]] = []

    def message(key: str, kind: str, person: dict[str, str], at: datetime, **fields: Any) -> None:
        messages.append(
            {
                "_key": key,
                "type": kind,
                "userId": person["user_id"],
                "anonymousId": person["anonymous_id"],
                "messageId": f"{person['user_id']}-{len(messages)}",
                "timestamp": _iso(at),
                **fields,
            }
        )

    for index, person in enumerate(data.customers):
        first_seen = now - timedelta(days=rng.randint(3, 120), hours=rng.randint(0, 10))
        home = ORDER_CHANNELS[index % len(ORDER_CHANNELS)]
        message(WEB_KEY, "page", person, first_seen, name="Home", properties={"url": "https://shop.example/"})
        traits: dict[str, Any] = {"name": person["name"], "email": person["email"], "phone": person["phone"]}
        # Marketing consent as a sign-up form records it: e-mail for all, SMS and WhatsApp for some.
        traits["consent"] = {"email": True, "sms": index % 2 == 0, "whatsapp": index % 3 != 2}
        if index % 4 == 1:
            traits["preferred_channel"] = "email"
        message(
            APP_KEY if home == "app" else WEB_KEY, "identify", person, first_seen + timedelta(minutes=2), traits=traits
        )
        if index % 3 == 0:
            message(WEB_KEY, "track", person, first_seen + timedelta(minutes=3), event="Signed Up", properties={})
        if index % 5 == 1:
            ctx = {"channel": "whatsapp"}
            message(
                DEV_KEY,
                "track",
                person,
                first_seen + timedelta(minutes=4),
                event="Lead Created",
                properties={},
                context=ctx,
            )
        orders = rng.choice([0, 1, 2, 2, 3, 4, 5]) if index % 7 else 0
        moment = first_seen
        for number in range(orders):
            moment += timedelta(days=rng.randint(0, 25), hours=rng.randint(1, 6))
            if moment > now - timedelta(hours=1):  # the next order would be in the future: none yet
                break
            channel = home if number == 0 or rng.random() < 0.6 else rng.choice(ORDER_CHANNELS)
            lines = rng.sample(PRODUCTS, rng.randint(1, 2))
            total = sum((price for _, _, price in lines), Decimal(0))
            session_key = {"web": WEB_KEY, "app": APP_KEY}.get(channel, DEV_KEY)
            visit = "screen" if channel == "app" else "page"
            if channel in ("web", "app"):
                message(session_key, visit, person, moment - timedelta(minutes=9), name=lines[0][1], properties={})
            if channel == "store":
                message(DEV_KEY, "track", person, moment - timedelta(minutes=20), event="Store Visited",
                        properties={"store_id": "istanbul-kadikoy"}, context={"channel": "store"})  # fmt: skip
            message(
                session_key,
                "track",
                person,
                moment,
                event="Order Completed",
                properties={
                    "order_id": f"O-{person['user_id']}-{number}",
                    "total": str(total),
                    "revenue": str(total),
                    "currency": "TRY",
                    "products": [
                        {"product_id": sku, "name": title, "price": str(price), "quantity": 1}
                        for sku, title, price in lines
                    ],
                },
                context={"channel": channel} if session_key == DEV_KEY else {},
            )
            data.orders += 1
            if rng.random() < 0.55:
                survey: dict[str, Any] = {"nps": rng.choice([3, 6, 7, 8, 9, 9, 10, 10])}
                if rng.random() < 0.7:
                    survey["csat"] = rng.choice([2, 3, 4, 4, 5, 5])
                # The survey follows the order by a day, but never lands in the future (an answer not yet
                # given would fall outside every period the dashboard shows).
                answered = min(moment + timedelta(days=1), now - timedelta(minutes=10))
                message(session_key, "track", person, answered, event="Survey Answered",
                        properties=survey, context={"channel": channel} if session_key == DEV_KEY else {})  # fmt: skip
        # Visits that end without an order, as most do: a few per cent convert on the web, more in the app and
        # the store. Hours apart, so each opens a session of its own.
        for extra in range(rng.randint(3, 9)):
            at = first_seen + (now - first_seen) * rng.random() + timedelta(hours=extra)
            if at < now - timedelta(minutes=10):
                key = APP_KEY if rng.random() < (0.8 if home == "app" else 0.45) else WEB_KEY
                message(key, "page" if key == WEB_KEY else "screen", person, at, name="Category", properties={})
        if home == "store":
            for walk_in in range(rng.randint(2, 6)):  # walked in, looked, left
                at = first_seen + timedelta(days=rng.randint(1, 110), hours=walk_in)
                if at < now - timedelta(minutes=10):
                    message(DEV_KEY, "track", person, at, event="Store Visited",
                            properties={"store_id": "istanbul-kadikoy"}, context={"channel": "store"})  # fmt: skip
        # A cart left in the app (after the last order: an older cart line would be stale), bought today after
        # a reminder: recovered revenue. The abandonment sweep runs between the two (see seed).
        left = max(moment + timedelta(minutes=10), now - timedelta(hours=26))
        if (index % 6 == 4 or index % 7 == 0) and left < now - timedelta(hours=2):
            sku, title, price = PRODUCTS[(index + 3) % len(PRODUCTS)]
            line = {"product_id": sku, "name": title, "price": str(price), "quantity": 1}
            message(APP_KEY, "track", person, left, event="Product Added", properties={**line, "currency": "TRY"})
            # Back in the app from the reminder: a visit, then the order
            message(APP_KEY, "screen", person, now, name="Cart", properties={}, _after_sweep=True)
            message(APP_KEY, "track", person, now, event="Order Completed",
                    properties={"order_id": f"O-{person['user_id']}-back", "total": str(price), "revenue": str(price),
                                "currency": "TRY", "products": [line]}, _after_sweep=True)  # fmt: skip
            # The post-purchase survey, answered at once (so even a small dataset has this month's NPS and CSAT)
            answer = {"nps": rng.choice([6, 8, 9, 10]), "csat": rng.choice([3, 4, 5])}
            message(APP_KEY, "track", person, now, event="Survey Answered", properties=answer, _after_sweep=True)
            data.orders += 1
            data.recovered += 1
        if index % 6 == 2:  # a cart left open in the app
            sku, title, price = PRODUCTS[index % len(PRODUCTS)]
            added = {"product_id": sku, "name": title, "price": float(price), "quantity": 1, "currency": "TRY"}
            message(APP_KEY, "track", person, now - timedelta(minutes=30), event="Product Added", properties=added)
    # Visitors who never sign in or buy: most of a shop's traffic, and the denominator of its conversion rate
    for visitor in range(2 * len(data.customers)):
        anonymous_id = f"visitor-{run}-{visitor:03d}"
        key = APP_KEY if rng.random() < 0.4 else WEB_KEY
        first_visit = now - timedelta(days=rng.randint(0, 119), hours=rng.randint(0, 23))
        for number in range(rng.randint(1, 2)):
            at = first_visit + timedelta(days=3 * number)
            if at < now - timedelta(minutes=10):
                messages.append(
                    {
                        "_key": key,
                        "type": "page" if key == WEB_KEY else "screen",
                        "anonymousId": anonymous_id,
                        "messageId": f"{anonymous_id}-{number}",
                        "timestamp": _iso(at),
                        "name": "Home" if number == 0 else "Category",
                        "properties": {},
                    }
                )
    for item in messages:
        item["context"] = {**item.get("context", {}), "library": {"name": "demo-seed", "version": "1"}}
    data.events = len(messages)
    return messages, data


def spend_rows(now: datetime, days: int = 120) -> list[dict[str, str]]:
    rows = []
    for back in range(days):
        day = (now - timedelta(days=back)).date().isoformat()
        for channel, amount in SPEND_PER_DAY.items():
            rows.append(
                {
                    "day": day,
                    "channel": channel,
                    "campaign": f"{channel}-always-on",
                    "amount": str(amount),
                    "currency": "TRY",
                }
            )
    return rows


def whatsapp_message(wa_id: str, name: str, text: str, message_id: str, at: datetime) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "908501234567", "phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": message_id,
                                    "timestamp": str(int(at.timestamp())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _sweep(send: Send, data: Dataset) -> None:
    """Run the cart abandonment sweep now (the local runtime's ``POST /_local/schedules``), once everything sent
    so far is delivered, instead of waiting for its five-minute tick."""
    body = _json({"function": "CartsAbandonmentFunction", "settle": True})
    status, text = send("POST", "/_local/schedules", body, {"Content-Type": "application/json"})
    if status != 200:
        data.problems.append(f"POST /_local/schedules -> {status} {text[:200]}")


def seed(
    send: Send, *, run: str, now: datetime, admin_token: str, meta_app_secret: str, customers: int = 30
) -> Dataset:
    """Send the dataset through the API; returns what was sent (``problems`` lists refused requests)."""
    messages, data = build(run, now, customers=customers)
    # Three rounds: the history; then the cart lines (an order arriving after a cart line, even an older order,
    # would check the cart out); then, once the abandonment sweep has seen the carts idle since yesterday, the
    # orders that recover them.
    rounds: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for item in messages:
        key = item.pop("_key")
        later = 2 if item.pop("_after_sweep", False) else 1 if item.get("event") == "Product Added" else 0
        rounds.setdefault((later, key), []).append(item)
    swept = False
    for (later, key), batch in sorted(rounds.items()):
        sent_at = now
        if later == 2:
            if not swept:
                _sweep(send, data)
                swept = True
            # Bought after the sweep saw the cart abandoned: stamped when sent, so the timeline reads in order
            sent_at = max(now, datetime.now(UTC))
            for position, item in enumerate(batch):
                item["timestamp"] = _iso(sent_at - timedelta(seconds=len(batch) - position))
        for start in range(0, len(batch), 100):
            body = _json({"batch": batch[start : start + 100], "sentAt": _iso(sent_at)})
            status, text = send(
                "POST", "/v1/batch", body, {"Authorization": _basic(key), "Content-Type": "application/json"}
            )
            if status != 200:
                data.problems.append(f"POST /v1/batch -> {status} {text[:200]}")
    rows = spend_rows(now)
    for start in range(0, len(rows), 100):
        status, text = send(
            "POST",
            "/kpis/spend",
            _json({"rows": rows[start : start + 100]}),
            {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        )
        if status != 200:
            data.problems.append(f"POST /kpis/spend -> {status} {text[:200]}")
    chinese = next((person for person in data.customers if person["lang"] == "zh"), None)
    if chinese is not None:
        body = _json(
            whatsapp_message(
                chinese["phone"].lstrip("+"),
                chinese["name"],
                "你好，我想预订这套茶具，可以在店里取吗？",
                f"wamid.{run}.zh",
                now,
            )
        )
        signature = "sha256=" + hmac.new(meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
        status, text = send(
            "POST", "/webhooks/whatsapp", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        )
        if status != 200:
            data.problems.append(f"POST /webhooks/whatsapp -> {status} {text[:200]}")
        data.events += 1
    return data
