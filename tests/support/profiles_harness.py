"""The profiles function against moto: its table (and capture's events table) created from template.yaml, a
resolver with a settable clock, and canonical events built in one line.

Concurrency tests run with ``atomic_moto_dynamodb`` (tests/support/moto_tables.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.identifiers import Provenance
from profiles.dal.profile_store import DynamoDBProfileStore
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolver_service import ProfileResolver
from tests.support.moto_tables import atomic_moto_dynamodb, create_table, table_properties

PROFILES_TABLE = "profiles"
EVENTS_TABLE = "events"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_counter = itertools.count()


def make_event(
    identifiers: dict[str, str],
    *,
    event_id: str | None = None,
    at: datetime | None = None,
    channel: Channel = Channel.WEB,
    name: str | None = None,
    kind: EventType = EventType.TRACK,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    provenance: Provenance = Provenance.VERIFIED,
    group_id: str | None = None,
) -> CanonicalEvent:
    """A canonical event. ``provenance`` is verified unless a test says otherwise: the merge mechanics tests are
    about verified evidence; the asserted-link rule has tests of its own."""
    number = next(_counter)
    moment = at or T0 + timedelta(minutes=number)
    return CanonicalEvent.model_validate(
        {
            "event_id": event_id or f"evt-{number:06d}",
            "message_id": f"msg-{number}",
            "source": "test",
            "type": kind,
            "name": name if kind is EventType.TRACK else None,
            "channel": channel,
            "identifiers": identifiers,
            "provenance": provenance,
            "group_id": group_id,
            "occurred_at": moment,
            "received_at": moment,
            "traits": traits or {},
            "context": context or {},
            "properties": properties or {},
        }
    )


@dataclass
class ProfilesHarness:
    client: Any
    store: DynamoDBProfileStore
    rules: IdentityRules
    clock: list[datetime] = field(default_factory=lambda: [T0])

    def resolver(self, **options: Any) -> ProfileResolver:
        return ProfileResolver(self.store, self.rules, lambda: self.clock[0], **options)

    def groups(self) -> set[frozenset[tuple[str, str]]]:
        """Identifiers grouped by the profile they resolve to now (following pointers)."""
        owners: dict[str, set[tuple[str, str]]] = {}
        for item in self.scan():
            if item["sk"]["S"] != "ID":
                continue
            _, kind, value = item["pk"]["S"].split("#", 2)
            root = self.store.get_profile(item["profile_id"]["S"])
            assert root is not None, f"identifier {kind} points to a missing profile"
            owners.setdefault(root.profile_id, set()).add((kind, value))
        return {frozenset(group) for group in owners.values()}

    def root_profiles(self) -> list[dict[str, Any]]:
        return [item for item in self.scan() if item["sk"]["S"] == "PROFILE" and "merged_into" not in item]

    def scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": PROFILES_TABLE}
        while True:
            page = self.client.scan(**request)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@contextmanager
def profiles_in_moto(
    rules: IdentityRules | None = None, *, with_events_table: bool = False
) -> Iterator[ProfilesHarness]:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, PROFILES_TABLE, table_properties("ProfilesTable"))
        if with_events_table:
            create_table(client, EVENTS_TABLE, table_properties("EventsTable"))
        yield ProfilesHarness(client, DynamoDBProfileStore(client, PROFILES_TABLE), rules or IdentityRules())


def resolve_all(resolver: ProfileResolver, events: list[CanonicalEvent]) -> list[Any]:
    return [resolver.resolve(event) for event in events]


Clock = Callable[[], datetime]
