"""Builds the capture pieces from settings and AWS clients, once per execution environment.

Tests replace them with ``override(...)`` (an in-memory store or publisher, fixed secrets, a fake clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from capture.logic.capture_service import CaptureService
from capture.secrets import CaptureSecrets, load_secrets
from capture.settings import get_settings
from omnichannel import aws_clients
from omnichannel.event_bus import EventBridgePublisher, EventPublisher

if TYPE_CHECKING:
    from capture.dal.event_store import DynamoDBEventStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    service: CaptureService | None = None
    publisher: EventPublisher | None = None
    secrets: CaptureSecrets | None = None
    clock: Callable[[], datetime] = utc_now
    store: DynamoDBEventStore | None = None


_wiring = Wiring()


def override(
    *,
    service: CaptureService | None = None,
    publisher: EventPublisher | None = None,
    secrets: CaptureSecrets | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(service=service, publisher=publisher, secrets=secrets, clock=clock or utc_now)


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher


def get_event_store() -> DynamoDBEventStore:
    if _wiring.store is None:
        from capture.dal.event_store import DynamoDBEventStore  # first use only: keeps the import graph small

        settings = get_settings()
        _wiring.store = DynamoDBEventStore(
            aws_clients.dynamodb(),
            settings.events_table_name,
            retention_days=settings.raw_event_retention_days,
            outbox_shards=settings.outbox_shards,
        )
    return _wiring.store


def get_capture_service() -> CaptureService:
    if _wiring.service is None:
        archive = None
        stream = get_settings().raw_archive_stream
        if stream:
            from capture.dal.raw_archive import FirehoseRawArchive

            archive = FirehoseRawArchive(aws_clients.client("firehose"), stream)
        _wiring.service = CaptureService(get_event_store(), archive)
    return _wiring.service


def get_secrets() -> CaptureSecrets:
    if _wiring.secrets is not None:
        return _wiring.secrets
    settings = get_settings()
    return load_secrets(settings.capture_secret_id, settings.secrets_max_age_seconds)
