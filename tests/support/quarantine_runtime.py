"""A bus consumer, through the local runtime, given a batch with one poison record among good ones: what was
delivered to it, and what its dead-letter queue holds (each consumer's test_bus_batch.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_runtime.deliveries import Delivery
from local_runtime.runtime import LocalRuntime
from tests.e2e.test_cart_journey import TEMPLATE


@dataclass(frozen=True)
class Quarantined:
    body: dict[str, Any]
    reason: str
    consumer: str


@dataclass(frozen=True)
class PoisonRun:
    deliveries: list[Delivery]  # to the consumer under test
    quarantined: list[Quarantined]

    @property
    def records_delivered(self) -> list[str]:
        """The event ids (``detail.event_id``, else the EventBridge id) of every record handed to the consumer, in
        order: a record retried would show twice."""
        ids = []
        for delivery in self.deliveries:
            for record in delivery.event["Records"]:
                event = json.loads(record["body"])
                detail = event.get("detail") if isinstance(event, dict) else None
                ids.append(str((detail or {}).get("event_id") or event.get("id")))
        return ids


@contextmanager
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        yield rt


def dead_letters(rt: LocalRuntime, function_id: str) -> list[Quarantined]:
    """What the consumer's dead-letter queue (its QUARANTINE_QUEUE_URL) holds, read without taking it away."""
    url = rt.functions[function_id].environment["QUARANTINE_QUEUE_URL"]
    sqs = rt.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    kept = []
    for message in messages:
        attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
        kept.append(
            Quarantined(
                json.loads(message["Body"]),
                attributes.get("quarantine_reason", ""),
                attributes.get("quarantined_by", ""),
            )
        )
    return kept


def run_batch(rt: LocalRuntime, function_id: str, events: Sequence[tuple[str, str, dict[str, Any]]]) -> PoisonRun:
    """Put ``events`` (source, detail-type, detail) on the bus, deliver everything, and report on ``function_id``."""
    for source, detail_type, detail in events:
        rt.put_event(detail_type, detail, source=source)
    deliveries = [delivery for delivery in rt.drain(timeout=60) if delivery.function == function_id]
    return PoisonRun(deliveries, dead_letters(rt, function_id))


def canonical(
    name: str | None,
    identifiers: dict[str, str],
    *,
    kind: str = "track",
    channel: str = "web",
    at: str = "2026-11-23T12:00:00Z",
    **properties: Any,
) -> dict[str, Any]:
    """The bus detail of a captured event (a canonical event), with a fresh event id; on a provider channel
    (WhatsApp, SMS, ...) a signed webhook's, as capture stamps them (verified)."""
    from omnichannel.canonical_event import CanonicalEvent, Channel
    from omnichannel.channel_replies import PROVIDER_CHANNELS

    message_id = f"msg-{uuid.uuid4()}"
    return CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            "message_id": message_id,
            "source": "test",
            "type": kind,
            "name": name,
            "channel": channel,
            "identifiers": identifiers,
            "occurred_at": at,
            "received_at": at,
            "provenance": "verified" if Channel(channel) in PROVIDER_CHANNELS else "asserted",
            "properties": properties,
        }
    ).to_bus_detail()
