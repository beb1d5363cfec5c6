"""In-memory stand-ins for the pieces tests do not want to reach AWS for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from capture.logic.capture_service import EventStore, IncomingEvent, StoreResult
from omnichannel.canonical_event import CanonicalEvent


class InMemoryEventStore:
    """The EventStore protocol in a dict: the first write of an event id wins, later ones are duplicates.

    Like the events table's DynamoDB stream, ``stream`` receives each newly stored event exactly once (never a
    duplicate); ``take_stream()`` hands over what arrived since the last call, as the stream publisher gets it.
    """

    def __init__(self) -> None:
        self.items: dict[str, IncomingEvent] = {}
        self.stream: list[CanonicalEvent] = []
        self.store_calls = 0

    @property
    def events(self) -> list[CanonicalEvent]:
        return [item.event for item in self.items.values()]

    def store_new(self, events: Sequence[IncomingEvent]) -> StoreResult:
        self.store_calls += 1
        result = StoreResult()
        for item in events:
            if item.event.event_id in self.items:
                result.duplicates.append(item.event)
            else:
                self.items[item.event.event_id] = item
                self.stream.append(item.event)
                result.stored.append(item.event)
        return result

    def take_stream(self) -> list[CanonicalEvent]:
        records, self.stream = self.stream, []
        return records


_: type[EventStore] = InMemoryEventStore  # the fake keeps to the protocol (checked by mypy)


@dataclass
class FakeLambdaContext:
    """What Powertools reads from the Lambda context."""

    function_name: str = "CaptureApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:CaptureApiFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/CaptureApiFunction"
    log_stream_name: str = "2026/01/01/[$LATEST]abcdef"
    client_context: None = None
    identity: None = None
    extra: dict[str, str] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
