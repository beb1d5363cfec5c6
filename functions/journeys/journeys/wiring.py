"""Builds the journey pieces from settings and AWS clients, once per execution environment.

Tests and the time-travelling harness replace them with ``override(...)``: a clock they move, in-memory stores,
a recording publisher, other definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from journeys.dal.definition_files import definitions_folder, load_folder
from journeys.dal.link_key import survey_link_key
from journeys.logic.engine import Engine, Policy
from journeys.logic.ports import Customers, JourneyStore
from journeys.logic.registry import Registry
from journeys.logic.service import JourneyService
from journeys.models.definition import JourneyDefinition
from journeys.settings import get_settings
from omnichannel import aws_clients
from omnichannel.event_bus import EventBridgePublisher, EventPublisher


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    clock: Callable[[], datetime] = utc_now
    publisher: EventPublisher | None = None
    store: JourneyStore | None = None
    customers: Customers | None = None
    definitions: Sequence[JourneyDefinition] | None = None
    link_key: bytes | None = None
    registry: Registry | None = None
    engine: Engine | None = None


_wiring = Wiring()


def override(
    *,
    clock: Callable[[], datetime] | None = None,
    publisher: EventPublisher | None = None,
    store: JourneyStore | None = None,
    customers: Customers | None = None,
    definitions: Sequence[JourneyDefinition] | None = None,
    link_key: bytes | None = None,
) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(clock or utc_now, publisher, store, customers, definitions, link_key)


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def get_registry() -> Registry:
    if _wiring.registry is None:
        definitions = _wiring.definitions if _wiring.definitions is not None else load_folder(definitions_folder())
        _wiring.registry = Registry.of(definitions)
    return _wiring.registry


def get_link_key() -> bytes:
    if _wiring.link_key is None:
        _wiring.link_key = survey_link_key(get_settings().journeys_secret_id)
    return _wiring.link_key


def get_engine() -> Engine:
    if _wiring.engine is None:
        _wiring.engine = _build_engine()
    return _wiring.engine


def _build_engine() -> Engine:
    settings = get_settings()
    policy = Policy(
        quiet_hours=settings.quiet_hours,
        frequency_cap=settings.journey_frequency_cap,
        business_time_zone=settings.business_time_zone,
        survey_link_base_url=settings.survey_link_base_url,
        survey_link_key=get_link_key(),
    )
    return Engine(get_registry(), policy)


def get_store() -> JourneyStore:
    if _wiring.store is None:
        from journeys.dal.dynamodb_store import DynamoDBJourneyStore

        _wiring.store = DynamoDBJourneyStore(aws_clients.dynamodb(), get_settings().journeys_table_name)
    return _wiring.store


def get_customers() -> Customers:
    if _wiring.customers is None:
        from journeys.dal.profile_reader import ProfileReader

        _wiring.customers = ProfileReader(aws_clients.dynamodb(), get_settings().profiles_table_name)
    return _wiring.customers


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher


def get_service() -> JourneyService:
    return JourneyService(get_engine(), get_store(), get_customers(), get_publisher(), now)
