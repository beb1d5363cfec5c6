"""Unmodified analytics SDKs, pointed at the local runtime with their host option, deliver batches that land:
every message in the events table and on the bus exactly once, also when the same batch is sent twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rudderstack.analytics.consumer as rudder_consumer
import rudderstack.analytics.request as rudder_request
import segment.analytics.consumer as segment_consumer
import segment.analytics.request as segment_request
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from local_runtime.runtime import LocalRuntime
from omnichannel.stored_event import event_json


def _stored_events(runtime: LocalRuntime) -> list[dict[str, Any]]:
    dynamodb = runtime.client("dynamodb")
    table = runtime.table_name("EventsTable")
    items = dynamodb.scan(TableName=table)["Items"]
    return [json.loads(event_json(item["event"])) for item in items if item["pk"]["S"].startswith("EVENT#")]


def _record_posts(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[dict[str, Any]]:
    """Wrap the post() the SDK's consumer calls, so the test sees each HTTP request it makes (and can replay it).
    The SDK itself is unmodified: the wrapper calls its own post() with the same arguments."""
    sent: list[dict[str, Any]] = []
    original: Callable[..., Any] = module.post

    def recording_post(*args: Any, **kwargs: Any) -> Any:
        sent.append({"args": args, "kwargs": json.loads(json.dumps(kwargs, default=str))})
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "post", recording_post)
    return sent


def _on_bus(runtime: LocalRuntime) -> list[dict[str, Any]]:
    runtime.drain()
    return [event for event in runtime.bus_log() if event.get("source") == "omnichannel.capture"]


def test_segment_sdk_batch_lands_once_also_when_sent_twice(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the unmodified Segment SDK pointed at the runtime, gzip on, one upload for everything queued
    posts = _record_posts(monkeypatch, segment_consumer)
    errors: list[Exception] = []
    client = SegmentClient(
        write_key="dev-write-key",
        host=runtime.base_url,
        gzip=True,
        upload_interval=1,
        on_error=lambda error, _batch: errors.append(error),
    )
    # When it identifies, tracks and pages, then flushes
    client.identify("cust-42", {"email": "Ayse@Example.com", "phone": "0532 123 45 67"}, anonymous_id="anon-9")
    client.track("cust-42", "Product Added", {"product_id": "SKU-1", "price": 19.9, "currency": "TRY"})
    client.page("cust-42", "Shop", "Coats", {"url": "https://shop.example/coats"})
    client.flush()
    client.join()
    # Then one batch request carried the three calls and the runtime accepted it
    assert errors == []
    assert len(posts) == 1
    batch = posts[0]["kwargs"]["batch"]
    assert [message["type"] for message in batch] == ["identify", "track", "page"]
    stored = _stored_events(runtime)
    assert sorted(event["message_id"] for event in stored) == sorted(message["messageId"] for message in batch)
    identify = next(event for event in stored if event["type"] == "identify")
    assert identify["identifiers"] == {
        "user_id": "cust-42",
        "anonymous_id": "anon-9",
        "email": "ayse@example.com",
        "phone": "+905321234567",
    }
    bus = _on_bus(runtime)
    assert sorted(event["detail"]["message_id"] for event in bus) == sorted(m["messageId"] for m in batch)
    assert {event["detail-type"] for event in bus} == {"identify", "Product Added", "page"}

    # When the very same batch is sent again (the SDK's own post, same messageIds: a retry)
    response = segment_request.post(*posts[0]["args"], **posts[0]["kwargs"])
    # Then it is answered 200 as duplicates, and nothing new is stored or published
    assert response.status_code == 200
    assert response.json()["duplicates"] == 3
    assert len(_stored_events(runtime)) == 3
    assert len(_on_bus(runtime)) == 3


def test_rudderstack_sdk_batch_lands_once(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the unmodified RudderStack Python SDK pointed at the runtime (it gzips by default)
    posts = _record_posts(monkeypatch, rudder_consumer)
    errors: list[Exception] = []
    client = RudderClient(
        write_key="dev-write-key",
        host=runtime.base_url,
        upload_interval=1,
        on_error=lambda error, _batch: errors.append(error),
    )
    client.identify("cust-7", {"email": "Mehmet@Example.com"}, anonymous_id="anon-7")
    client.track("cust-7", "Order Completed", {"order_id": "O-1", "revenue": 120, "currency": "TRY"})
    client.page("cust-7", "Shop", "Home")
    client.flush()
    client.join()
    assert errors == []
    assert len(posts) == 1
    batch = posts[0]["kwargs"]["batch"]
    stored = _stored_events(runtime)
    assert sorted(event["message_id"] for event in stored) == sorted(message["messageId"] for message in batch)
    assert {event["channel"] for event in stored} == {"web"}
    assert len(_on_bus(runtime)) == 3
    # And a resend of the same batch changes nothing
    rudder_request.post(*posts[0]["args"], **posts[0]["kwargs"])
    assert len(_stored_events(runtime)) == 3
    assert len(_on_bus(runtime)) == 3


def test_wrong_write_key_is_refused_and_the_sdk_reports_it(runtime: LocalRuntime) -> None:
    errors: list[Exception] = []
    client = SegmentClient(
        write_key="not-a-key", host=runtime.base_url, max_retries=0, on_error=lambda e, _b: errors.append(e)
    )
    client.track("u", "Product Added")
    client.flush()
    client.join()
    assert [getattr(error, "status", None) for error in errors] == [401]
    assert _stored_events(runtime) == []


def test_analytics_java_trailing_slash_path_reaches_capture(runtime: LocalRuntime) -> None:
    # analytics-java posts to /v1/import/ by default: API Gateway routes it through /v1/{proxy+}
    response = runtime.request(
        "POST",
        "/v1/import/",
        headers={"Authorization": "Basic ZGV2LXdyaXRlLWtleTo=", "Content-Type": "application/json"},
        body={"batch": [{"type": "track", "userId": "u-java", "event": "Order Completed", "messageId": "java-1"}]},
    )
    assert response.status == 200
    assert [event["message_id"] for event in _stored_events(runtime)] == ["java-1"]
