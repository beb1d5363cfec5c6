"""The carts function against moto: the carts table exactly as template.yaml defines it, a clock the test moves,
an in-memory bus, and helpers to build the captured and profile events that drive carts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from carts.dal.cart_store import DynamoDBCartStore
from carts.logic.cart import Limits
from carts.logic.cart_service import CartRules, CartService
from carts.logic.profile_sync import ProfileSync
from carts.logic.sign_in import sign_in
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, Channel, EventType
from omnichannel.event_bus import BusEvent, InMemoryPublisher
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import ProfileCreated, profile_event_id
from tests.support.moto_tables import atomic_moto_dynamodb, create_table, table_properties

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """An injectable clock: ``now()`` answers ``moment``; ``tick`` makes every reading a little later."""

    moment: datetime = T0
    tick: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        current = self.moment
        self.moment += self.tick
        return current

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@dataclass
class CartsHarness:
    service: CartService
    publisher: InMemoryPublisher
    clock: Clock
    client: Any
    table: str
    sync: ProfileSync = field(init=False)

    def __post_init__(self) -> None:
        self.sync = ProfileSync(self.service)

    def published(self, detail_type: str) -> list[BusEvent]:
        return [event for event in self.publisher.events if event.detail_type == detail_type]


def carts_table(client: Any, name: str = "carts") -> str:
    create_table(client, name, table_properties("CartsTable"))
    return name


def build_harness(client: Any, table: str, rules: CartRules | None = None, clock: Clock | None = None) -> CartsHarness:
    clock = clock or Clock()
    rules = rules or CartRules()
    publisher = InMemoryPublisher()
    store = DynamoDBCartStore(client, table, due_shards=rules.due_shards)
    service = CartService(store, publisher, clock, rules, sleep=lambda _seconds: None)
    return CartsHarness(service=service, publisher=publisher, clock=clock, client=client, table=table)


def moto_harness(rules: CartRules | None = None, clock: Clock | None = None) -> Iterator[CartsHarness]:
    with mock_aws(), atomic_moto_dynamodb():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield build_harness(client, carts_table(client), rules, clock)


def commerce_event(
    name: str,
    properties: dict[str, Any],
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    at: datetime = T0,
    channel: Channel = Channel.WEB,
    message_id: str | None = None,
) -> CanonicalEvent:
    identifiers: dict[IdentifierType, str] = {}
    if anonymous_id:
        identifiers[IdentifierType.ANONYMOUS_ID] = anonymous_id
    if user_id:
        identifiers[IdentifierType.USER_ID] = user_id
    message = message_id or f"msg-{uuid.uuid4()}"
    return CanonicalEvent(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, message)),
        message_id=message,
        source="dev",
        type=EventType.TRACK,
        name=name,
        channel=channel,
        identifiers=identifiers,
        occurred_at=at,
        received_at=at,
        properties=properties,
    )


def product(product_id: str, price: str = "100.00", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"product_id": product_id, "price": price, "quantity": quantity, "currency": "TRY", **extra}


def login(harness: CartsHarness, profile_id: str, user_id: str, *anonymous_ids: str) -> None:
    """These devices sign in as ``user_id``: the profile is announced (profile.created), then each device's app
    calls ``POST /carts/me/merge`` with the customer's token and its own cart credential."""
    harness.sync.created(
        ProfileCreated(
            event_id=profile_event_id(profile_id, "created"),
            occurred_at=harness.clock.moment,
            profile_id=profile_id,
            identifiers={IdentifierType.USER_ID: [user_id], IdentifierType.ANONYMOUS_ID: list(anonymous_ids)},
        )
    )
    for anonymous_id in anonymous_ids:
        sign_in(harness.service, user_id, anonymous_id)


def capture_source() -> str:
    return CAPTURE_SOURCE


def default_rules(**overrides: Any) -> CartRules:
    limits = overrides.pop("limits", Limits())
    return CartRules(limits=limits, **overrides)
