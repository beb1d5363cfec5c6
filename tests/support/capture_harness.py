"""Capture's HTTP handler wired to in-memory fakes, with the table's stream delivered to an in-memory bus.

``invoke`` calls ``capture.handlers.api.lambda_handler`` with an API Gateway HTTP API event, then does what the
events table's stream and the stream publisher do on AWS: every newly stored event goes to the bus once.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from capture import wiring
from capture.handlers.api import lambda_handler
from capture.logic.capture_service import CaptureService, to_bus_event
from capture.secrets import CaptureSecrets
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.event_bus import InMemoryPublisher
from tests.fakes import FakeLambdaContext, InMemoryEventStore


@dataclass
class CaptureHarness:
    store: InMemoryEventStore
    bus: InMemoryPublisher
    clock: list[datetime] = field(default_factory=list)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler(copy.deepcopy(event), FakeLambdaContext())
        new_events = self.store.take_stream()
        if new_events:
            self.bus.publish([to_bus_event(captured) for captured in new_events])
        return response

    def published_ids(self) -> list[str]:
        return [event.event_id for event in self.bus.events]

    def published_events(self) -> list[CanonicalEvent]:
        return [CanonicalEvent.model_validate(event.detail) for event in self.bus.events]


@contextmanager
def wired_capture(secrets: dict[str, Any], now: datetime) -> Iterator[CaptureHarness]:
    """Capture wired to fakes and ``secrets``, its clock at ``now`` (tests move it through ``harness.clock[0]``)."""
    harness = CaptureHarness(InMemoryEventStore(), InMemoryPublisher(), [now])
    wiring.override(
        service=CaptureService(harness.store),
        publisher=harness.bus,
        secrets=CaptureSecrets.model_validate(secrets),
        clock=lambda: harness.clock[0],
    )
    try:
        yield harness
    finally:
        wiring.reset()


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def header_of(response: dict[str, Any], name: str) -> str | None:
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    value = headers.get(name.lower())
    return str(value) if value is not None else None


def tracking_request(
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    key: str | None = "k-any",  # a write key of the secrets given to wired_capture; None sends none
    gzipped: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event for the tracking API, as the official SDKs send it."""
    data = raw if raw is not None else json.dumps(body).encode()
    all_headers = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        all_headers["authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    if gzipped:
        data = gzip.compress(data)
        all_headers["content-encoding"] = "gzip"
    binary = gzipped or raw is not None
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "t",
            },
            "requestId": "r-1",
            "routeKey": f"POST {path}",
            "stage": "$default",
            "domainName": "api.example.com",
        },
        "body": base64.b64encode(data).decode() if binary else data.decode(),
        "isBase64Encoded": binary,
    }
