"""A visit's conditional writes on DynamoDB (moto, the table as template.yaml defines it): a visitor's page views
counted by the visit (created, added to, closed past its cap), each once, delivered twice in other batches and
orders; and each condition as DynamoDB evaluates it (an event it holds, its room, a close on a size it no longer
has because a concurrent batch added to it)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from kpis.dal import keys
from kpis.dal.dynamodb_store import DynamoDBKpiStore
from kpis.dal.repository import VISIT_CAP, StoreRepository
from kpis.dal.store import AddMembers, CloseSet, Put
from kpis.logic.customer_keys import hashed
from kpis.logic.dispatch import envelope
from kpis.logic.ports import Kind, SessionMarker
from kpis.logic.rollup_service import RollupConfig, RollupService
from local_runtime.moto_patches import patched_moto
from omnichannel.canonical_event import CanonicalEvent
from tests.support.moto_tables import create_table, table_properties

TABLE = "kpis-visits"
NOW = datetime(2026, 11, 27, 17, tzinfo=UTC)
DAY = "2026-11-27"


@pytest.fixture
def store() -> Iterator[DynamoDBKpiStore]:
    with mock_aws(), patched_moto():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, TABLE, table_properties("KpisTable"))
        yield DynamoDBKpiStore(client, TABLE)


def _view(number: int) -> dict[str, Any]:
    message_id = f"dv-{number}"
    event = CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            "message_id": message_id,
            "source": "web",
            "type": "page",
            "name": "Home",
            "channel": "web",
            "identifiers": {"anonymous_id": "anon-dv"},
            "occurred_at": (NOW + timedelta(seconds=number)).isoformat(),
            "received_at": NOW.isoformat(),
        }
    )
    return envelope("omnichannel.capture", event.detail_type, event.to_bus_detail())


def _service(store: DynamoDBKpiStore) -> tuple[RollupService, StoreRepository]:
    clock = lambda: NOW + timedelta(hours=2)  # noqa: E731
    repository = StoreRepository(store, clock=clock, shards=2, rng=random.Random(1))
    return RollupService(repository, RollupConfig(), clock), repository


def test_a_visit_on_dynamodb_counts_each_page_view_once_past_its_cap_and_redelivered(store):
    # Given one visitor's 90 page views of one evening, delivered twice, shuffled, in batches of 1 to 30
    rng = random.Random(4)
    events = [_view(n) for n in range(90)]
    deliveries = events + events
    rng.shuffle(deliveries)
    service, repository = _service(store)

    # When each batch is applied
    position = 0
    while position < len(deliveries):
        size = rng.randint(1, 30)
        assert service.apply_batch(deliveries[position : position + size]).poison == {}
        position += size

    # Then 90 page views and one session are counted
    (bucket,) = repository.read(Kind.BUCKET, DAY, DAY)
    assert bucket.numbers["page_views"] == 90
    assert bucket.numbers["sessions"] == 1
    # And the visit is closed holding at most its cap; the other page views have dedupe items
    visit = store.get(keys.session(SessionMarker(DAY, "web", hashed("anonymous_id:anon-dv"))))
    assert visit is not None
    assert visit["closed"] is True
    assert 0 < len(visit["ids"]) <= VISIT_CAP
    deduped = store.get_many([keys.dedupe(e["detail"]["event_id"]) for e in events])
    assert len(deduped) == 90 - len(visit["ids"])


def test_the_visit_conditions_on_dynamodb(store):
    # Given no visit yet: nothing to add to
    key = keys.session(SessionMarker(DAY, "web", "v"))
    _, repository = _service(store)
    assert store.write(AddMembers(key, "ids", ("a",), 63)) is False
    # When a visit holding two events is created (and cannot be created twice)
    assert store.write(Put(key, {"ids": {"a", "b"}}, must_not_exist=True))
    assert store.write(Put(key, {"ids": {"z"}}, must_not_exist=True)) is False

    # Then adding one it holds fails, adding new ones succeeds, past the room fails
    assert store.write(AddMembers(key, "ids", ("b", "c"), 62)) is False
    assert store.write(AddMembers(key, "ids", ("c", "d"), 62))
    assert store.write(AddMembers(key, "ids", ("e",), 3)) is False
    # And closing it on a size it no longer has fails; on its size, it closes, and nothing is added after
    assert store.write(CloseSet(key, "ids", 2)) is False
    assert store.write(CloseSet(key, "ids", 4))
    assert store.write(AddMembers(key, "ids", ("f",), 63)) is False
    assert store.get(key)["ids"] == {"a", "b", "c", "d"}
    # And the repository reads it closed, with what it holds
    view = repository.visits({SessionMarker(DAY, "web", "v"): []})[SessionMarker(DAY, "web", "v")]
    assert view.taken
    assert view.room == 0
