"""Builds the carts pieces from settings and AWS clients, once per execution environment.

Tests replace them with ``override(...)`` (a fake clock, an in-memory publisher, other rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carts.dal.cart_store import DynamoDBCartStore
from carts.logic.cart import Limits
from carts.logic.cart_service import CartRules, CartService
from carts.settings import CartsSettings, get_settings
from omnichannel import aws_clients
from omnichannel.event_bus import EventBridgePublisher, EventPublisher


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    clock: Callable[[], datetime] = utc_now
    publisher: EventPublisher | None = None
    rules: CartRules | None = None
    service: CartService | None = None


_wiring = Wiring()


def override(
    *,
    clock: Callable[[], datetime] | None = None,
    publisher: EventPublisher | None = None,
    rules: CartRules | None = None,
) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(clock=clock or utc_now, publisher=publisher, rules=rules)


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def rules_from(settings: CartsSettings) -> CartRules:
    return CartRules(
        limits=Limits(max_line_quantity=settings.max_line_quantity, max_lines=settings.max_lines),
        mode=settings.cart_merge_mode,
        default_currency=settings.default_currency,
        abandon_after=timedelta(minutes=settings.abandon_after_minutes),
        abandon_retry=timedelta(minutes=settings.abandon_retry_minutes),
        recovery_window=timedelta(days=settings.recovery_window_days),
        due_shards=settings.due_shards,
        sweep_budget=settings.sweep_budget,
        anonymous_ttl=timedelta(days=settings.anonymous_cart_ttl_days),
        saved_ttl=timedelta(days=settings.saved_cart_ttl_days),
        dedupe_window=timedelta(hours=settings.dedupe_window_hours),
    )


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher


def get_service() -> CartService:
    if _wiring.service is None:
        settings = get_settings()
        rules = _wiring.rules or rules_from(settings)
        store = DynamoDBCartStore(aws_clients.dynamodb(), settings.carts_table_name, due_shards=rules.due_shards)
        _wiring.service = CartService(store, get_publisher(), now, rules)
    return _wiring.service
