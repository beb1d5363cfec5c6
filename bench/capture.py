"""Capture benchmark: AWS calls per 100 events, handler cost beside pydantic alone, cold start beside boto3.

    .venv/bin/python bench/capture.py [--events 100] [--rounds 20] [--cold-runs 15]

Figures are ratios measured side by side in one run; absolute times on a shared machine drift.
"""

from __future__ import annotations

import argparse
import base64
import collections
import gc
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda, a quiet offline environment

ROOT = Path(__file__).resolve().parents[1]
AUTH = "Basic " + base64.b64encode(b"bench-key:").decode()


def messages(count: int, seed: str = "") -> list[dict[str, Any]]:
    """A realistic mix: page views, product events, identifies with e-mail and phone, screens from the app."""
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    for i in range(count):
        base: dict[str, Any] = {
            "messageId": f"{seed}m-{i}-{uuid.uuid4()}",
            "anonymousId": f"anon-{i % 37}",
            "timestamp": (now + timedelta(seconds=i)).isoformat(),
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}, "ip": "203.0.113.9"},
        }
        kind = i % 4
        if kind == 0:
            base |= {"type": "page", "name": "Product", "properties": {"url": f"https://shop.example/p/{i}"}}
        elif kind == 1:
            base |= {
                "type": "track",
                "event": "Product Added",
                "properties": {
                    "product_id": f"p{i}",
                    "sku": f"SKU-{i}",
                    "price": 19.9,
                    "quantity": 1,
                    "currency": "TRY",
                },
            }
        elif kind == 2:
            base |= {
                "type": "identify",
                "userId": f"c-{i}",
                "traits": {"email": f"Müşteri{i}@Örnek.com.tr", "phone": "0532 123 45 67", "name": "Ayşe"},
            }
        else:
            base |= {"type": "screen", "name": "Cart", "context": {"library": {"name": "analytics-ios"}}}
        out.append(base)
    return out


def http_event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": AUTH, "content-type": "application/json", "host": "localhost"},
        "requestContext": {
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "b"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"POST {path}",
            "stage": "$default",
            "domainName": "localhost",
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class Context:
    function_name = "CaptureApiFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:CaptureApiFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def secrets() -> Any:
    from capture.secrets import CaptureSecrets

    return CaptureSecrets.model_validate({"write_keys": {"bench-key": {"source": "bench"}}})


STREAM_BATCH_SIZE = 100  # template.yaml: CaptureStreamPublisherFunction's BatchSize


class StreamReader:
    """Reads a moto table's stream from where it left off, as the Lambda event source mapping does."""

    def __init__(self, table: str) -> None:
        import boto3

        self._streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = self._streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def new_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = self._streams.get_records(ShardIterator=self._iterator, Limit=1000)
            self._iterator = page["NextShardIterator"]
            if not page["Records"]:
                return records
            records.extend(page["Records"])


# -- 1. AWS calls per 100 events ----------------------------------------------------------------------------
def aws_calls(count: int) -> None:
    import boto3
    import yaml
    from moto import mock_aws

    from capture import wiring
    from capture.handlers import api as handler
    from capture.handlers import stream_events as stream_publisher
    from omnichannel import aws_clients

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506
    table = template["Resources"]["EventsTable"]["Properties"]
    with mock_aws():
        import os

        os.environ.update(EVENTS_TABLE_NAME="events", EVENT_BUS_NAME="bench-bus")
        from capture.settings import get_settings

        get_settings.cache_clear()
        aws_clients.reset()
        boto3.client("dynamodb").create_table(
            TableName="events",
            StreamSpecification={
                "StreamEnabled": True,
                "StreamViewType": table["StreamSpecification"]["StreamViewType"],
            },
            **{
                k: table[k]
                for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
                if k in table
            },
        )
        stream = StreamReader("events")
        boto3.client("events").create_event_bus(Name="bench-bus")
        calls: collections.Counter[str] = collections.Counter()
        items = collections.Counter[str]()

        def count_call(params: dict[str, Any], model: Any, **_: Any) -> None:
            service = model.service_model.endpoint_prefix
            calls[f"{service}.{model.name}"] += 1
            if model.name == "TransactWriteItems":
                items["dynamodb items in write requests"] += len(params["TransactItems"])
            elif model.name in ("PutItem", "DeleteItem", "UpdateItem"):
                items["dynamodb items in write requests"] += 1
            elif model.name == "PutEvents":
                items["bus entries"] += len(params["Entries"])

        for service in ("dynamodb", "events"):
            aws_clients.client(service).meta.events.register("provide-client-params", count_call)

        def run(label: str, requests: list[dict[str, Any]]) -> None:
            wiring.override(secrets=secrets())
            calls.clear()
            items.clear()
            for request in requests:
                response = handler.lambda_handler(request, Context())
                assert response["statusCode"] == 200, response
            records = stream.new_records()
            for start in range(0, len(records), STREAM_BATCH_SIZE):  # as the event source mapping batches them
                batch = records[start : start + STREAM_BATCH_SIZE]
                assert stream_publisher.lambda_handler({"Records": batch}, Context()) == {"batchItemFailures": []}
            dynamo_writes = sum(v for k, v in calls.items() if k.split(".")[1] in WRITE_OPS)
            print(f"  {label}:")
            for name, value in sorted(calls.items()):
                print(f"    {name:<34} {value:>5}")
            print(f"    {'= DynamoDB write calls':<34} {dynamo_writes:>5}   (target <= {count})")
            print(f"    {'= PutEvents calls':<34} {calls['events.PutEvents']:>5}   (target <= {count // 10})")
            for name, value in sorted(items.items()):
                print(f"    {name:<34} {value:>5}")

        WRITE_OPS = {"TransactWriteItems", "PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem"}
        print(f"AWS calls per {count} captured events (capture API + stream publisher; moto, counted at the client)")
        run(
            f"one /v1/batch of {count} (analytics-python's default upload size)",
            [http_event("/v1/batch", {"batch": messages(count, "b")})],
        )
        batches = [http_event("/v1/batch", {"batch": messages(10, f"s{i}-")}) for i in range(count // 10)]
        run(f"{count // 10} /v1/batch calls of 10", batches)
        run(
            f"{count} single /v1/track-style calls",
            [http_event(f"/v1/{m['type']}", m) for m in messages(count, "single")],
        )
        resent = http_event("/v1/batch", {"batch": messages(count, "r")})
        handler.lambda_handler(resent, Context())
        for record_batch in [stream.new_records()]:
            stream_publisher.lambda_handler({"Records": record_batch}, Context())
        run(f"the same batch of {count} sent again (all duplicates)", [resent])
        wiring.reset()


# -- 2. handler cost beside pydantic alone ------------------------------------------------------------------
def best_of(rounds: int, action: Callable[[], Any]) -> float:
    timings = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def handler_cost(count: int, rounds: int) -> None:
    from capture import wiring
    from capture.dal.event_store import event_item
    from capture.dal.in_memory_store import InMemoryEventStore
    from capture.handlers import api as handler
    from capture.handlers import stream_events as stream_publisher
    from capture.logic.capture_service import CaptureService
    from capture.models.segment import SegmentMessage
    from omnichannel.event_bus import InMemoryPublisher

    batch = messages(count, "h")
    request = http_event("/v1/batch", {"batch": batch})
    store = InMemoryEventStore()

    def through_handler() -> None:
        store.items.clear()
        wiring.override(service=CaptureService(store), secrets=secrets())
        response = handler.lambda_handler(request, Context())
        assert json.loads(response["body"])["accepted"] == count

    through_handler()
    stream_event = {
        "Records": [
            {"eventName": "INSERT", "dynamodb": {"NewImage": event_item(item, 0), "SequenceNumber": str(n)}}
            for n, item in enumerate(store.items.values())
        ]
    }

    def through_stream_publisher() -> None:
        bus = InMemoryPublisher()
        wiring.override(publisher=bus)
        stream_publisher.lambda_handler(stream_event, Context())
        assert len(bus.events) == count

    def pydantic_alone() -> None:
        for message in json.loads(request["body"])["batch"]:
            SegmentMessage.model_validate(message)

    pydantic_alone()
    handler_time = best_of(rounds, through_handler)
    publisher_time = best_of(rounds, through_stream_publisher)
    pydantic_time = best_of(rounds, pydantic_alone)
    print(
        f"\nCapture per event, AWS calls stubbed out (in-memory store and bus), a batch of {count}, best of {rounds}:"
    )
    rows = [
        ("API handler: auth, decode, validate, normalise, canonical event, dedupe, store, respond", handler_time),
        ("stream publisher: read the stream image, build bus entries, publish", publisher_time),
        (f"pydantic alone validating the same {count} Segment messages", pydantic_time),
    ]
    for label, seconds in rows:
        print(f"  {label:<88} {seconds / count * 1e6:7.1f} µs/event")
    print(f"  ratio API handler / pydantic alone: {handler_time / pydantic_time:.2f}")
    both = (handler_time + publisher_time) / pydantic_time
    print(f"  ratio API handler + stream publisher / pydantic alone: {both:.2f}")
    wiring.reset()


# -- 3. cold start beside boto3 -----------------------------------------------------------------------------
COLD_HANDLER = """
import sys, time
t = time.perf_counter()
sys.path[:0] = [{shared!r}, {function!r}]
import capture.handlers.api
from omnichannel import aws_clients
aws_clients.dynamodb(); aws_clients.events()
print(time.perf_counter() - t)
"""
COLD_BOTO3 = """
import time
t = time.perf_counter()
import boto3
from botocore.config import Config
config = Config(connect_timeout=2, read_timeout=5, retries={{"mode": "standard", "max_attempts": 3}})
session = boto3.session.Session()
session.client("dynamodb", config=config); session.client("events", config=config)
print(time.perf_counter() - t)
"""


COLD_FLOOR = COLD_BOTO3.replace(
    "print(time.perf_counter() - t)",
    "import pydantic\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)\nprint(time.perf_counter() - t)",
)


def cold_start(runs: int, *, tracing: bool) -> None:
    env_code = {"shared": str(ROOT / "shared"), "function": str(ROOT / "functions" / "capture")}
    handler_code = COLD_HANDLER.format(**env_code)
    boto3_code = COLD_BOTO3.format()
    env = {**__import__("os").environ, "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true"}
    for code in (handler_code, boto3_code):  # warm the disk cache and the bytecode cache
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    floor_code = COLD_FLOOR.format()
    handler_times: list[float] = []
    boto3_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(runs):  # interleaved, so drift hits all alike
        for code, sink in ((handler_code, handler_times), (boto3_code, boto3_times), (floor_code, floor_times)):
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
            sink.append(float(out.stdout.strip().splitlines()[-1]))
    handler_median = statistics.median(handler_times)
    boto3_median = statistics.median(boto3_times)
    mode = "tracing on, as deployed (X-Ray SDK loaded)" if tracing else "tracing off (local runtime, tests)"
    print(f"\nCold start, {mode}: fresh interpreter, imports plus DynamoDB and EventBridge clients, median of {runs}:")
    print(f"  import capture.handlers.api + clients   {handler_median * 1000:7.1f} ms")
    print(f"  import boto3 + the same clients    {boto3_median * 1000:7.1f} ms")
    floor_median = statistics.median(floor_times)
    print(
        f"  import boto3 + clients + pydantic and one model (the floor of any pydantic function) "
        f"{floor_median * 1000:7.1f} ms"
    )
    print(
        f"  ratio handler / boto3: {handler_median / boto3_median:.2f}   (target <= 1.30); "
        f"floor / boto3: {floor_median / boto3_median:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=15)
    parser.add_argument("--only", choices=["calls", "handler", "cold"], default=None)
    args = parser.parse_args()
    if args.only in (None, "calls"):
        aws_calls(args.events)
    if args.only in (None, "handler"):
        handler_cost(args.events, args.rounds)
    if args.only in (None, "cold"):
        cold_start(args.cold_runs, tracing=True)
        cold_start(args.cold_runs, tracing=False)


if __name__ == "__main__":
    main()
