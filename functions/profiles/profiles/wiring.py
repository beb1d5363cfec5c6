"""Builds the profiles pieces from settings and AWS clients, once per execution environment.

Tests replace them with ``override(...)`` (a fake clock, other rules, a publisher that records).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from omnichannel import aws_clients
from omnichannel.event_bus import EventBridgePublisher, EventPublisher
from omnichannel.timeline_reader import TimelineReader
from profiles.dal.profile_store import DynamoDBProfileStore
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolver_service import ProfileResolver
from profiles.settings import get_settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    clock: Callable[[], datetime] = utc_now
    rules: IdentityRules | None = None
    publisher: EventPublisher | None = None
    store: DynamoDBProfileStore | None = None
    timeline: TimelineReader | None = None


_wiring = Wiring()


def override(
    *,
    clock: Callable[[], datetime] | None = None,
    rules: IdentityRules | None = None,
    publisher: EventPublisher | None = None,
) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(clock=clock or utc_now, rules=rules, publisher=publisher)


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def get_rules() -> IdentityRules:
    if _wiring.rules is None:
        settings = get_settings()
        _wiring.rules = IdentityRules.from_settings(
            settings.identity_limits, settings.identity_blocklist, settings.identity_autoblock_after
        )
    return _wiring.rules


def get_store() -> DynamoDBProfileStore:
    if _wiring.store is None:
        settings = get_settings()
        _wiring.store = DynamoDBProfileStore(
            aws_clients.dynamodb(),
            settings.profiles_table_name,
            timeline_retention_days=settings.raw_event_retention_days,
        )
    return _wiring.store


def get_timeline() -> TimelineReader:
    if _wiring.timeline is None:
        settings = get_settings()
        _wiring.timeline = TimelineReader(
            aws_clients.dynamodb(),
            settings.profiles_table_name,
            settings.events_table_name,
            default_region=settings.default_phone_region,
        )
    return _wiring.timeline


def get_resolver() -> ProfileResolver:
    return ProfileResolver(get_store(), get_rules(), now)


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher
