"""Profiles benchmark: DynamoDB reads and writes per resolved event, what a merge costs as history grows, and what
a timeline page costs for a profile with many identifiers.

    .venv/bin/python bench/profiles.py [--events 10000] [--identifiers 500]

Cases: an event of a known customer that changes nothing; one that attaches a new identifier; one that creates
a profile; a merge of two profiles; the same merge when each profile's identifiers carry 10 and then 10,000
stored events in capture's table. A merge re-points identifiers, never events: its cost is O(identifiers).
Then one timeline page of a customer holding ``--identifiers`` anonymous ids and a page of events, side by side:
*before* (issue 12), a Query per identifier on capture's indexes, merged; *now*, the resolver's own rows of the
profile (one Query) and one BatchGetItem of the events. Counted at the client (every DynamoDB request, and the
items each reads or writes), in moto; wall times are moto's, for the ratio only.
"""

from __future__ import annotations

import argparse
import collections
import functools
import heapq
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda
import boto3
import yaml
from moto import mock_aws

from omnichannel.canonical_event import CanonicalEvent, utc_iso
from omnichannel.identifiers import IdentifierType
from omnichannel.timeline_reader import TimelineOwner, TimelineReader
from profiles.dal.items import profile_to_item
from profiles.dal.profile_store import DynamoDBProfileStore
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolver_service import ProfileResolver

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
READS = {"GetItem", "BatchGetItem", "Query", "Scan"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Counter:
    """DynamoDB requests and the items they read or wrote, as seen by the client."""

    def __init__(self, client: Any) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.items_read = 0
        self.items_written = 0
        client.meta.events.register("provide-client-params.dynamodb.*", self._request)
        client.meta.events.register("after-call.dynamodb.*", self._response)

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = self.items_written = 0

    def _request(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "TransactWriteItems":
            self.items_written += len(params["TransactItems"])
        elif model.name == "BatchWriteItem":
            self.items_written += sum(len(requests) for requests in params["RequestItems"].values())
        elif model.name in WRITES:
            self.items_written += 1

    def _response(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "BatchGetItem":
            self.items_read += sum(len(items) for items in parsed.get("Responses", {}).values())
        elif model.name == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif model.name in ("Query", "Scan"):
            self.items_read += len(parsed.get("Items", []))

    def summary(self) -> str:
        reads = sum(count for name, count in self.calls.items() if name in READS)
        writes = sum(count for name, count in self.calls.items() if name in WRITES)
        calls = ", ".join(f"{name} {count}" for name, count in sorted(self.calls.items()))
        items = f"{self.items_read} items read, {self.items_written} written"
        return f"{reads} read / {writes} write requests; {items} ({calls})"


def table_properties(logical_id: str) -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def legacy_identifier_indexes() -> dict[str, Any]:
    """Capture's identifier indexes as they were until issue 14 (one sparse keys-only index per identifier type,
    ``occurred_at`` as range key): the *before* of the timeline comparison reads through them."""
    kinds = [kind.value for kind in IdentifierType]
    return {
        "AttributeDefinitions": [{"AttributeName": "occurred_at", "AttributeType": "S"}]
        + [{"AttributeName": f"id_{kind}", "AttributeType": "S"} for kind in kinds],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": f"by_{kind}",
                "KeySchema": [
                    {"AttributeName": f"id_{kind}", "KeyType": "HASH"},
                    {"AttributeName": "occurred_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for kind in kinds
        ],
    }


def create_table(client: Any, name: str, logical_id: str) -> None:
    properties = table_properties(logical_id)
    args = {
        key: properties[key]
        for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")
        if key in properties
    }
    if logical_id == "EventsTable" and "GlobalSecondaryIndexes" not in args:
        legacy = legacy_identifier_indexes()
        args["AttributeDefinitions"] = [*args["AttributeDefinitions"], *legacy["AttributeDefinitions"]]
        args["GlobalSecondaryIndexes"] = legacy["GlobalSecondaryIndexes"]
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **args)


_serial = iter(range(10**9))


def event(identifiers: dict[str, str], at: datetime | None = None) -> CanonicalEvent:
    number = next(_serial)
    moment = at or T0 + timedelta(seconds=number)
    return CanonicalEvent.model_validate(
        {
            "event_id": f"bench-{number}",
            "message_id": f"m-{number}",
            "source": "bench",
            "type": "track",
            "name": "Product Viewed",
            "channel": "web",
            "identifiers": identifiers,
            "occurred_at": moment,
            "received_at": moment,
        }
    )


def store_history(client: Any, identifiers: dict[str, str], count: int) -> None:
    """``count`` captured events carrying these identifiers, as capture stored them until issue 14 (with the
    attributes of its identifier indexes, which the *before* timeline reads)."""
    with_keys = {f"id_{kind}": {"S": value} for kind, value in identifiers.items()}
    for start in range(0, count, 25):
        batch = []
        for number in range(start, min(start + 25, count)):
            captured = event(identifiers, T0 - timedelta(minutes=number))
            batch.append(
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": f"EVENT#{captured.event_id}"},
                            "sk": {"S": "EVENT"},
                            "occurred_at": {"S": utc_iso(captured.occurred_at)},
                            "event": {"S": json.dumps(captured.to_bus_detail())},
                            **with_keys,
                        }
                    }
                }
            )
        client.batch_write_item(RequestItems={"events": batch})


def measure(title: str, counter: Counter, action: Callable[[], Any]) -> tuple[int, int]:
    counter.reset()
    outcome = action()
    print(f"  {title:<58} {getattr(outcome, 'outcome', '')!s:<10} {counter.summary()}")
    return sum(counter.calls.values()), counter.items_read + counter.items_written


def store_event(client: Any, captured: CanonicalEvent) -> None:
    """One captured event as capture stores it (its identifier index attributes included)."""
    client.put_item(
        TableName="events",
        Item={
            "pk": {"S": f"EVENT#{captured.event_id}"},
            "sk": {"S": "EVENT"},
            "occurred_at": {"S": utc_iso(captured.occurred_at)},
            "event": {"S": json.dumps(captured.to_bus_detail())},
            **{f"id_{kind.value}": {"S": value} for kind, value in captured.identifiers.items()},
        },
    )


def page_before(client: Any, identifiers: list[tuple[IdentifierType, str]], limit: int) -> list[str]:
    """The timeline as it was read before issue 12: one Query per identifier on capture's indexes, 8 at a time,
    merged newest first (the first page)."""

    def newest(identifier: tuple[IdentifierType, str]) -> list[tuple[str, str]]:
        kind, value = identifier
        items = client.query(
            TableName="events",
            IndexName=f"by_{kind.value}",
            KeyConditionExpression="#id = :v",
            ExpressionAttributeNames={"#id": f"id_{kind.value}"},
            ExpressionAttributeValues={":v": {"S": value}},
            ScanIndexForward=False,
            Limit=limit + 1,
        )["Items"]
        return [(item["occurred_at"]["S"], item["pk"]["S"]) for item in items]

    with ThreadPoolExecutor(max_workers=8) as pool:
        streams = list(pool.map(newest, identifiers))
    seen: list[str] = []
    for _, key in heapq.merge(*streams, reverse=True):
        if key not in seen:
            seen.append(key)
        if len(seen) == limit:
            break
    return seen


def timeline_cost(client: Any, counter: Counter, resolver: ProfileResolver, store: Any, count: int) -> int:
    """A customer with ``count`` anonymous ids (a sign-in from each browser) and a page of recent events."""
    login = event({"user_id": "tl-1", "anonymous_id": "tl-browser-0"})
    store_event(client, login)
    resolver.resolve(login)
    profile = store.owner_of((IdentifierType.USER_ID, "tl-1"))
    # The other browsers are attached straight into the profile item: the page's cost depends on what the profile
    # holds, not on how it came to hold it (resolving each sign-in would only make the setup slow).
    profile.identifiers[IdentifierType.ANONYMOUS_ID] |= {f"tl-browser-{n}" for n in range(1, count)}
    client.put_item(TableName="profiles", Item=profile_to_item(profile))
    for number in range(20):
        recent = event({"user_id": "tl-1", "anonymous_id": f"tl-browser-{number % 3}"}, T0 + timedelta(hours=number))
        store_event(client, recent)
        resolver.resolve(recent)
    profile = store.owner_of((IdentifierType.USER_ID, "tl-1"))
    identifiers = sorted(profile.identifier_pairs())
    owner = TimelineOwner(profile.profile_id, profile.merged_spans, frozenset(identifiers))
    reader = TimelineReader(client, "profiles", "events")
    print(f"\nA timeline page of 20 events, the customer holding {len(identifiers)} identifiers:")
    counter.reset()
    started = time.perf_counter()
    before = page_before(client, identifiers, 20)
    before_seconds = time.perf_counter() - started
    print(f"  {'before: a Query per identifier, merged':<58} {'':<10} {counter.summary()}  {before_seconds:.2f} s")
    before_calls = sum(counter.calls.values())
    counter.reset()
    started = time.perf_counter()
    now = reader.page(owner, limit=20)
    now_seconds = time.perf_counter() - started
    print(f"  {'now: the profile rows, then the events':<58} {'':<10} {counter.summary()}  {now_seconds:.2f} s")
    now_calls = sum(counter.calls.values())
    same = [f"EVENT#{item.event_id}" for item in now.events] == before
    print(
        f"  the same 20 events: {same}; requests {before_calls} -> {now_calls}, "
        f"time {before_seconds:.2f} s -> {now_seconds:.2f} s ({before_seconds / max(now_seconds, 1e-6):.0f}x)"
    )
    return 0 if same and now_calls <= 2 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="stored events per profile in the big merge")
    parser.add_argument("--identifiers", type=int, default=500, help="anonymous ids of the timeline's customer")
    args = parser.parse_args()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, "profiles", "ProfilesTable")
        create_table(client, "events", "EventsTable")
        counter = Counter(client)
        resolver_store = DynamoDBProfileStore(client, "profiles")
        resolver = ProfileResolver(resolver_store, IdentityRules(), lambda: T0)

        print("DynamoDB requests per resolved event (moto, counted at the client):")
        measure("new visitor: creates a profile", counter, lambda: resolver.resolve(event({"anonymous_id": "v1"})))
        measure("same visitor again: nothing changes", counter, lambda: resolver.resolve(event({"anonymous_id": "v1"})))
        login = event({"anonymous_id": "v1", "email": "v1@posta.com.tr", "user_id": "c1"})
        measure("logs in: attaches e-mail and customer id", counter, lambda: resolver.resolve(login))
        measure("the login redelivered (its timeline row is there)", counter, lambda: resolver.resolve(login))

        costs: dict[int, tuple[int, int]] = {}
        for history in (0, 10, args.events):
            a = {"anonymous_id": f"a-{history}", "device_id": f"d-{history}"}
            b = {"email": f"b-{history}@posta.com.tr", "phone": f"+9053200{history:05d}"}
            resolver.resolve(event(a))
            resolver.resolve(event(b))
            if history:
                store_history(client, a, history)
                store_history(client, b, history)
            label = "merge of two profiles" + (f", {history:,} stored events each" if history else "")
            linking = event({"anonymous_id": a["anonymous_id"], "email": b["email"]})
            costs[history] = measure(label, counter, functools.partial(resolver.resolve, linking))
        small, big = costs[10], costs[args.events]
        print(
            f"\nMerge cost with {args.events:,} events per profile vs 10: requests {big[0]} vs {small[0]}, "
            f"items {big[1]} vs {small[1]} -> "
            + ("the same: O(identifiers), not O(events)" if big == small else "DIFFERENT")
        )
        timeline = timeline_cost(client, counter, resolver, resolver_store, args.identifiers)
        return 0 if big == small and timeline == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
