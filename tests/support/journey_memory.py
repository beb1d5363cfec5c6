"""The journey service on in-memory stores, a recording publisher and a clock the test moves: for unit tests and
simulations of thousands of customers (the local runtime's harness is in tests/journeys/harness.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys.dal.definition_files import definitions_folder, load_folder
from journeys.dal.memory_store import InMemoryCustomers, InMemoryJourneyStore
from journeys.logic.engine import Engine, Policy
from journeys.logic.registry import Registry
from journeys.logic.service import JourneyService
from journeys.models.definition import JourneyDefinition
from journeys.models.state import Profile
from omnichannel.canonical_event import CAPTURE_SOURCE, Channel, utc_iso
from omnichannel.channel_replies import PROVIDER_CHANNELS
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.kpi_events import KPIS_SOURCE

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul


def envelope(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-03-02T07:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@dataclass
class MemoryJourneys:
    definitions: Sequence[JourneyDefinition] = field(default_factory=lambda: load_folder(definitions_folder()))
    policy: Policy = field(
        default_factory=lambda: Policy(survey_link_base_url="https://api.test", survey_link_key=b"k")
    )
    now: datetime = START

    def __post_init__(self) -> None:
        self.store = InMemoryJourneyStore()
        self.customers = InMemoryCustomers()
        self.publisher = InMemoryPublisher()
        self.engine = Engine(Registry.of(self.definitions), self.policy)
        self.service = JourneyService(self.engine, self.store, self.customers, self.publisher, lambda: self.now)

    def customer(self, profile_id: str, **traits: Any) -> Profile:
        identifiers = {"user_id": [f"u-{profile_id}"]}
        for kind in ("whatsapp", "phone", "email"):
            if kind in traits:
                identifiers[kind] = [str(traits.pop(kind))]
        times = {name: utc_iso(self.now - timedelta(days=1)) for name in traits}
        return self.customers.add(Profile(profile_id, identifiers, traits, times))

    def captured(self, profile: Profile, name: str, *, channel: str = "web", event_id: str | None = None,
                 identifiers: dict[str, str] | None = None, provenance: str | None = None,
                 **properties: Any) -> dict[str, Any]:  # fmt: skip
        """A captured event; on WhatsApp, SMS and the other provider channels a signed webhook's (verified), as
        capture stamps them, unless ``provenance`` says otherwise."""
        at = utc_iso(self.now)
        if provenance is None:
            provenance = "verified" if Channel(channel) in PROVIDER_CHANNELS else "asserted"
        detail = {
            "event_id": event_id or str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "source": "test",
            "type": "track",
            "name": name,
            "channel": channel,
            "identifiers": identifiers or {"user_id": profile.identifiers["user_id"][0]},
            "occurred_at": at,
            "received_at": at,
            "provenance": provenance,
            "properties": properties,
        }
        return envelope(CAPTURE_SOURCE, name, detail)

    def track(self, profile: Profile, name: str, **kwargs: Any) -> str:
        return self.service.handle_one(self.captured(profile, name, **kwargs))

    def lifecycle(self, profile: Profile, stage: str, *, previous: str | None = None, **figures: Any) -> str:
        detail = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": utc_iso(self.now),
            "customer_id": f"p-{profile.profile_id}",
            "profile_id": profile.profile_id,
            "previous_stage": previous,
            "stage": stage,
            "sequence": 1,
            "frequency": figures.get("frequency", 1),
            "monetary": figures.get("monetary", "0"),
            "currency": "TRY",
        }
        return self.service.handle_one(envelope(KPIS_SOURCE, "lifecycle.changed", detail))

    def advance(self, **delta: float) -> None:
        target = self.now + timedelta(**delta)
        while (due := self.store.next_due()) is not None and due <= utc_iso(target):
            self.now = max(self.now, datetime.fromisoformat(due.replace("Z", "+00:00")))
            self.service.sweep(limit=100_000)
        self.now = target
        self.service.sweep(limit=100_000)

    def published(self, detail_type: str, profile: Profile | None = None) -> list[dict[str, Any]]:
        found = {e.event_id: e.detail for e in self.publisher.events if e.detail_type == detail_type}
        return [d for d in found.values() if profile is None or d.get("profile_id") == profile.profile_id]
