"""Capture's HTTP handler wired to in-memory fakes, with the table's stream delivered to an in-memory bus.

``invoke`` calls ``capture.handler.lambda_handler`` with an API Gateway HTTP API event, then does what the
events table's stream and the stream publisher do on AWS: every newly stored event goes to the bus once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from capture import wiring
from capture.handler import lambda_handler
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
