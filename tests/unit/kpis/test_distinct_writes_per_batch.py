"""A batch writes each day's distinct-customer sets once, whatever the identity events in it.

Profile events (a visitor signing in: ``profile.created``) arrive between the page views on the KPI queue. Each
one folds what its visitor did before into the profile, moving the visitor's member of the day's set. Written as
they came, those moves made the day's busiest set the most-written item of the whole pipeline (one write per
visitor who signs in, per set). The batch now writes each set's last state once: the sets must be exactly those
of the events applied one by one, and each set item written at most twice (members in, members out) per batch.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import StoreRepository
from kpis.logic.dispatch import envelope
from kpis.logic.rollup_service import RollupConfig
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.profile_events import PROFILES_SOURCE, ProfileCreated, ProfileEventType
from tests.support.kpi_service import memory_service

NOW = datetime(2026, 11, 27, 17, tzinfo=UTC)  # 20:00 in Istanbul: one business day


def _page_view(number: int, visitor: int, channel: str) -> dict[str, Any]:
    message_id = f"pv-{number}"
    event = CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            "message_id": message_id,
            "source": channel,
            "type": "page" if channel == "web" else "screen",
            "name": "Home",
            "channel": channel,
            "identifiers": {"anonymous_id": f"anon-{visitor}"},
            "occurred_at": (NOW + timedelta(seconds=number)).isoformat(),
            "received_at": NOW.isoformat(),
        }
    )
    return envelope("omnichannel.capture", event.detail_type, event.to_bus_detail())


def _signed_in(visitor: int) -> dict[str, Any]:
    created = ProfileCreated(
        event_id=f"pc-{visitor}",
        occurred_at=NOW + timedelta(minutes=30),
        profile_id=f"profile-{visitor}",
        identifiers={"anonymous_id": [f"anon-{visitor}"], "email": [f"v{visitor}@example.com"]},
    )
    return envelope(PROFILES_SOURCE, ProfileEventType.CREATED, created.model_dump(mode="json"))


def _traffic(seed: int) -> list[dict[str, Any]]:
    """300 visitors, 1 to 4 page views each on web or app; half of them sign in somewhere among their views.
    Visitors interleave as on a busy evening; each one's own events stay in order."""
    rng = random.Random(seed)
    visitors: list[list[dict[str, Any]]] = []
    number = 0
    for visitor in range(300):
        channel = rng.choice(["web", "web", "app"])
        views = []
        for _ in range(rng.randint(1, 4)):
            views.append(_page_view(number, visitor, channel))
            number += 1
        if visitor % 2 == 0:
            views.insert(rng.randint(1, len(views)), _signed_in(visitor))
        visitors.append(views)
    out: list[dict[str, Any]] = []
    while any(visitors):
        lane = rng.choice([lane for lane in visitors if lane])
        out.append(lane.pop(0))
    return out


def _sets(store: MemoryKpiStore, clock: Any) -> dict[tuple[str, str], set[str]]:
    repository = StoreRepository(store, clock=clock, shards=4)
    out: dict[tuple[str, str], set[str]] = {}
    for found in repository.distinct("2026-11-27", "2026-11-27"):
        out.setdefault((found.day, found.channel), set()).update(found.members)
    return out


def test_a_batch_writes_each_distinct_set_once_and_the_sets_equal_one_event_at_a_time():
    # Given 300 visitors' page views with sign-ins (profile.created) between them, in one queue batch
    events = _traffic(seed=5)
    clock = lambda: NOW + timedelta(hours=1)  # noqa: E731
    batched, batched_store = memory_service(RollupConfig(), clock)
    one_by_one, one_by_one_store = memory_service(RollupConfig(), clock)

    # When the whole batch is applied, and the same events elsewhere one at a time
    result = batched.apply_batch(events)
    for event in events:
        one_by_one.apply_batch([event])

    # Then the day's sets are the same: every visitor once, a signed-in one under the profile only
    assert result.poison == {}
    sets = _sets(batched_store, clock)
    assert sets == _sets(one_by_one_store, clock)
    assert sum(len(members) for members in sets.values()) == 300
    # And each set item of the batch was written at most twice (its members in, then out), where one event at a
    # time writes the busiest one once per visitor who came or signed in
    set_writes = {key: n for key, n in batched_store.writes_per_item.items() if key[1].startswith("U#")}
    assert set_writes
    assert max(set_writes.values()) <= 2
    busiest_alone = max(n for key, n in one_by_one_store.writes_per_item.items() if key[1].startswith("U#"))
    assert busiest_alone > 10


def test_a_redelivered_batch_leaves_the_sets_as_they_were():
    # Given a batch applied once
    events = _traffic(seed=9)
    clock = lambda: NOW + timedelta(hours=1)  # noqa: E731
    service, store = memory_service(RollupConfig(), clock)
    service.apply_batch(events)
    before = _sets(store, clock)

    # When the queue delivers it again, and a part of it a third time
    service.apply_batch(events)
    service.apply_batch(events[100:250])

    # Then the sets are unchanged
    assert _sets(store, clock) == before
    assert sum(len(members) for members in before.values()) == 300
