"""Handoff benchmark: what the agent context costs for a customer with a long history beside a new one.

    .venv/bin/python bench/handoff.py [--events 10000] [--repeat 20]

Two customers, each with 5 identifiers (user id, e-mail, phone, WhatsApp, Instagram), three conversations and two
handoff tickets; one has 10 captured events, the other 10,000 (spread over their identifiers, as capture stores
them with its identifier indexes). The context call goes through the real handler (API Gateway HTTP API event,
agent JWT claims) against moto. Printed per customer: the DynamoDB requests the call makes (counted at the
client with botocore's event hooks, so exact), the items they read, and the in-process time (median of
``--repeat`` calls), split into time waiting on DynamoDB (moto, in-process) and time in our code.

The context reads a bounded page (one Query per identifier, ``Limit`` = page size + 1), so the request counts
must be the same for both; the script exits non-zero when they differ. moto answers a GSI Query by scanning
every item of the table in Python, so the time spent *in moto* grows with the table; DynamoDB's does not.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda

os.environ.update(
    {
        "HANDOFF_TABLE_NAME": "handoff",
        "PROFILES_TABLE_NAME": "profiles",
        "EVENTS_TABLE_NAME": "events",
        "CARTS_TABLE_NAME": "carts",
        "POWERTOOLS_SERVICE_NAME": "handoff",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
)

from moto import mock_aws

from handoff import wiring
from handoff.dal.ticket_store import TicketStore
from handoff.handlers import api as handler
from handoff.logic.conversation_service import ConversationService
from handoff.logic.tickets import new_ticket
from omnichannel import aws_clients
from omnichannel.canonical_event import CanonicalEvent, utc_iso
from tests.fakes import FakeLambdaContext
from tests.support.moto_tables import create_table, table_properties

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KINDS = ("user_id", "email", "phone", "whatsapp", "instagram")


class Counter:
    """DynamoDB requests, items read, and the wall time during which at least one request was in flight."""

    def __init__(self, client: Any) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.items_read = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._since = 0.0
        self.busy = 0.0
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0
        self.busy = 0.0

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            if self._in_flight == 0:
                self._since = time.perf_counter()
            self._in_flight += 1

    def _after(self, model: Any, parsed: Any, **_: Any) -> None:
        with self._lock:
            if model.name == "GetItem" and "Item" in parsed:
                self.items_read += 1
            elif model.name == "Query":
                self.items_read += int(parsed.get("Count", 0))
            self._in_flight -= 1
            if self._in_flight == 0:
                self.busy += time.perf_counter() - self._since


def identifiers_of(name: str) -> dict[str, str]:
    number = zlib.crc32(name.encode()) % 10_000
    return {
        "user_id": f"cus_{name}",
        "email": f"{name}@posta.com.tr",
        "phone": f"+90532{number:07d}",
        "whatsapp": f"90532{number:07d}",
        "instagram": f"178414{number:011d}",
    }


def seed_customer(client: Any, name: str, events: int) -> str:
    """Profile and identifier index items, a cart, 3 conversations, 2 tickets and ``events`` captured events."""
    profile_id = f"prof-{name}"
    ids = identifiers_of(name)
    client.put_item(
        TableName="profiles",
        Item={
            "pk": {"S": f"PROFILE#{profile_id}"},
            "sk": {"S": "PROFILE"},
            "identifiers": {"M": {kind: {"L": [{"S": value}]} for kind, value in ids.items()}},
            "traits": {"S": json.dumps({"first_name": {"v": json.dumps("Ayşe")}})},
            "channels": {"L": [{"S": "web"}, {"S": "whatsapp"}, {"S": "instagram"}]},
        },
    )
    for kind, value in ids.items():
        client.put_item(
            TableName="profiles",
            Item={"pk": {"S": f"ID#{kind}#{value}"}, "sk": {"S": "ID"}, "profile_id": {"S": profile_id}},
        )
    client.put_item(
        TableName="carts",
        Item={
            "pk": {"S": f"CART#user_id#{ids['user_id']}"},
            "sk": {"S": "CART"},
            "cart_id": {"S": f"cart-{name}"},
            "version": {"N": "3"},
            "currency": {"S": "TRY"},
            "lines": {
                "L": [{"M": {"product_id": {"S": "P-COAT"}, "quantity": {"N": "1"}, "unit_price": {"S": "1299.90"}}}]
            },
        },
    )
    service: ConversationService = wiring.get_conversations()
    touchpoints = [
        ("Message Received", "instagram", {"instagram": ids["instagram"]}),
        ("Message Received", "whatsapp", {"whatsapp": ids["whatsapp"]}),
        ("Call Started", "phone", {"phone": ids["phone"]}),
    ]
    for number, (event_name, channel, carried) in enumerate(touchpoints):
        service.apply(captured(f"{name}-conv-{number}", event_name, channel, carried, T0 + timedelta(minutes=number)))
    tickets = TicketStore("handoff", client, clock=lambda: T0)
    for minutes in (0, 5):
        tickets.create(
            new_ticket(
                profile_id=profile_id,
                from_channel="whatsapp",
                to_channel="store",
                reason="try it on",
                now=T0 + timedelta(minutes=minutes),
                link_base_url="",
            )
        )
    store_history(client, name, ids, events)
    return profile_id


def captured(event_id: str, name: str, channel: str, identifiers: dict[str, str], at: datetime) -> CanonicalEvent:
    return CanonicalEvent.model_validate(
        {
            "event_id": event_id,
            "message_id": f"m-{event_id}",
            "source": "bench",
            "type": "track",
            "name": name,
            "channel": channel,
            "identifiers": identifiers,
            "occurred_at": at,
            "received_at": at,
        }
    )


def store_history(client: Any, name: str, ids: dict[str, str], count: int) -> None:
    """``count`` events, each carrying one of the identifiers in turn, one minute apart, as capture stores them."""
    for start in range(0, count, 25):
        batch = []
        for number in range(start, min(start + 25, count)):
            kind = KINDS[number % len(KINDS)]
            at = T0 - timedelta(minutes=number)
            event = captured(f"{name}-{number}", "Product Viewed", "web", {kind: ids[kind]}, at)
            item = {
                "pk": {"S": f"EVENT#{event.event_id}"},
                "sk": {"S": "EVENT"},
                "occurred_at": {"S": utc_iso(event.occurred_at)},
                "event": {"S": json.dumps(event.to_bus_detail())},
                f"id_{kind}": {"S": ids[kind]},
            }
            batch.append({"PutRequest": {"Item": item}})
        client.batch_write_item(RequestItems={"events": batch})


def context_request(profile_id: str) -> dict[str, Any]:
    path = f"/handoff/customers/{profile_id}/context"
    return {
        "version": "2.0",
        "routeKey": "GET /handoff/customers/{profile_id}/context",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "bench.local"},
        "pathParameters": {"profile_id": profile_id},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "authorizer": {
                "jwt": {
                    "claims": {"sub": "agent-bench", "cognito:groups": "[agent]", "token_use": "access"},
                    "scopes": [],
                }
            },
            "requestId": "bench",
            "routeKey": "GET /handoff/customers/{profile_id}/context",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def measure(counter: Counter, profile_id: str, repeat: int) -> tuple[collections.Counter[str], int, float, float, int]:
    """(requests, items read, median ms, median ms in moto, timeline events) of the context call."""
    request = context_request(profile_id)
    totals: list[float] = []
    in_moto: list[float] = []
    calls: collections.Counter[str] = collections.Counter()
    items = 0
    events = 0
    for _ in range(repeat):
        counter.reset()
        started = time.perf_counter()
        answer = handler.lambda_handler(request, FakeLambdaContext(function_name="HandoffApiFunction"))
        totals.append((time.perf_counter() - started) * 1000)
        in_moto.append(counter.busy * 1000)
        if answer["statusCode"] != 200:
            raise RuntimeError(f"context call answered {answer['statusCode']}: {answer['body']}")
        calls, items = collections.Counter(counter.calls), counter.items_read
        events = len(json.loads(answer["body"])["timeline"]["events"])
    return calls, items, statistics.median(totals), statistics.median(in_moto), events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="captured events of the long-history customer")
    parser.add_argument("--repeat", type=int, default=20, help="context calls per customer (the median is shown)")
    args = parser.parse_args()
    with mock_aws():
        aws_clients.reset()
        client = aws_clients.dynamodb()
        for name, logical_id in (
            ("handoff", "HandoffTable"),
            ("profiles", "ProfilesTable"),
            ("events", "EventsTable"),
            ("carts", "CartsTable"),
        ):
            create_table(client, name, table_properties(logical_id))
        wiring.override(clock=lambda: T0 + timedelta(minutes=30))
        counter = Counter(client)
        customers = {10: seed_customer(client, "new", 10), args.events: seed_customer(client, "loyal", args.events)}
        print(f"Agent context (GET /handoff/customers/{{id}}/context), moto, median of {args.repeat} calls:")
        results = {}
        for history, profile_id in customers.items():
            calls, items, total, moto_ms, events = measure(counter, profile_id, args.repeat)
            results[history] = (calls, total)
            listed = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
            print(
                f"  5 identifiers, {history:>6,} events: {sum(calls.values())} DynamoDB requests ({listed}), "
                f"{items} items read, {events} timeline events; {total:7.1f} ms in process "
                f"({moto_ms:6.1f} ms in moto, {total - moto_ms:5.1f} ms in our code)"
            )
        (small_calls, small_ms), (big_calls, big_ms) = results[10], results[args.events]
        same = small_calls == big_calls
        print(
            f"\n{args.events:,} events vs 10: requests {sum(big_calls.values())} vs {sum(small_calls.values())} "
            f"({'the same: a bounded page' if same else 'DIFFERENT'}); time ratio {big_ms / small_ms:.2f}"
        )
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
