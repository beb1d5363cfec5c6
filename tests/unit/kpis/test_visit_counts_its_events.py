"""A page, screen or store-visit event is counted once by its visit, not by a dedupe item of its own.

The visit (``S#<day>`` / ``<channel>#<visitor>``: the session marker) holds a digest of each such event it counted,
so a batch writes one item per visitor, day and channel for its page views where it wrote one dedupe item per
event (two write units each, in a transaction). The customer's change a page view causes (a channel, a touch, a
day in its distinct sets) is idempotent and needs no dedupe; it is committed before the visit, so a visit holding
an event tells that its customer's change is in, and a redelivered page view writes nothing. A visit holds up to
64 events (one write unit); past that it is closed and its further events get dedupe items. These tests pin the
writes and check that every figure stays exact under redelivery in other batches and orders.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kpis.dal import keys
from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import VISIT_CAP, StoreRepository, event_digest
from kpis.logic.customer_keys import hashed
from kpis.logic.dispatch import envelope
from kpis.logic.ports import Kind, SessionMarker
from kpis.logic.rollup_service import RollupConfig
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.profile_events import PROFILES_SOURCE, ProfileCreated, ProfileEventType
from tests.support.kpi_service import memory_service

NOW = datetime(2026, 11, 27, 17, tzinfo=UTC)  # 20:00 in Istanbul
DAY = "2026-11-27"


def CLOCK() -> datetime:
    return NOW + timedelta(hours=2)


def _view(number: int, visitor: int, channel: str = "web", kind: str = "page") -> dict[str, Any]:
    message_id = f"v{visitor}-{number}"
    event = CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            "message_id": message_id,
            "source": channel,
            "type": "track" if kind == "order" else ("page" if channel == "web" else "screen"),
            "name": "Order Completed" if kind == "order" else "Home",
            "channel": channel,
            "identifiers": {"anonymous_id": f"anon-{visitor}"},
            "occurred_at": (NOW + timedelta(seconds=number)).isoformat(),
            "received_at": NOW.isoformat(),
            "properties": {"revenue": "10.00", "currency": "TRY"} if kind == "order" else {},
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


def _bucket(store: MemoryKpiStore, channel: str = "web") -> dict[str, Decimal]:
    rows = [r for r in StoreRepository(store, clock=CLOCK).read(Kind.BUCKET, DAY, DAY) if r.dimension == channel]
    return rows[0].numbers if rows else {}


def _writes(store: MemoryKpiStore) -> Counter[str]:
    """Writes per item kind: the partition key's leading word (E, S, C, I, R ...)."""
    out: Counter[str] = Counter()
    for (pk, _), count in store.writes_per_item.items():
        out[pk.split("#")[0]] += count
    return out


def _in_batches(events: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    out, position = [], 0
    while position < len(events):
        size = rng.randint(1, 40)
        out.append(events[position : position + size])
        position += size
    return out


def test_a_batch_of_page_views_writes_one_visit_per_visitor_and_no_dedupe_item():
    # Given 40 visitors' page views, 1 to 6 each, on web or app, in one queue batch
    rng = random.Random(3)
    events, visits = [], set()
    for visitor in range(40):
        channel = rng.choice(["web", "app"])
        visits.add((visitor, channel))
        events += [_view(n, visitor, channel) for n in range(rng.randint(1, 6))]
    rng.shuffle(events)
    service, store = memory_service(RollupConfig(), CLOCK)

    # When the batch is applied
    result = service.apply_batch(events)

    # Then every view is counted, with a session per visitor and channel
    assert result.outcomes == ["counted"] * len(events)
    web = sum(1 for e in events if e["detail"]["channel"] == "web")
    assert _bucket(store)["page_views"] == web
    assert _bucket(store, "app")["screen_views"] == len(events) - web
    assert _bucket(store)["sessions"] + _bucket(store, "app")["sessions"] == len(visits)
    # And the batch wrote one visit item per visitor and channel, no dedupe item, and each customer once
    writes = _writes(store)
    assert writes["E"] == 0
    assert writes["S"] == len(visits)
    assert writes["C"] == 40
    # And the customers, whose change moves no counter, were written on their own: one transaction in all
    assert store.counters.transactions == 1
    # And each visit holds a digest of its events
    visit = store.items[
        keys.session(SessionMarker(DAY, "web", hashed(f"anonymous_id:anon-{min(v for v, c in visits if c == 'web')}")))
    ]
    assert len(visit["ids"]) >= 1


def test_a_redelivered_batch_of_page_views_writes_no_visit_customer_or_counter():
    # Given 30 visitors' page views (and an order each for a third of them) applied once
    rng = random.Random(5)
    events = [_view(n, visitor) for visitor in range(30) for n in range(rng.randint(1, 5))]
    events += [_view(100, visitor, kind="order") for visitor in range(0, 30, 3)]
    service, store = memory_service(RollupConfig(), CLOCK)
    service.apply_batch(events)
    before = dict(_bucket(store))
    writes_before = _writes(store)

    # When the queue delivers them again, shuffled, in other batches
    shuffled = list(events)
    rng.shuffle(shuffled)
    outcomes = []
    for batch in _in_batches(shuffled, rng):
        outcomes += service.apply_batch(batch).outcomes

    # Then every one is a duplicate and the figures are unchanged
    assert outcomes == ["duplicate"] * len(events)
    assert _bucket(store) == before
    assert before["page_views"] == len(events) - 10
    assert before["orders"] == 10
    assert before["sessions"] == 30
    # And nothing was written but the distinct sets (idempotent: their members are added again)
    again = _writes(store) - writes_before
    assert set(again) <= {"R"}
    assert all(sk.startswith("U#") for (pk, sk), n in store.writes_per_item.items() if pk.startswith("R#") and n > 1)


def test_a_visit_past_its_cap_is_closed_and_every_event_still_counts_once():
    # Given one visitor's 150 page views on one day, delivered in random batches, twice, shuffled
    rng = random.Random(11)
    events = [_view(n, 1) for n in range(150)]
    deliveries = events + events
    rng.shuffle(deliveries)
    service, store = memory_service(RollupConfig(), CLOCK)

    # When every batch is applied
    for batch in _in_batches(deliveries, rng):
        assert service.apply_batch(batch).poison == {}

    # Then 150 page views and one session are counted
    assert _bucket(store)["page_views"] == 150
    assert _bucket(store)["sessions"] == 1
    # And the visit holds at most its cap and is closed; the events it does not hold have dedupe items
    visit = store.items[keys.session(SessionMarker(DAY, "web", hashed("anonymous_id:anon-1")))]
    assert visit["closed"] is True
    assert 0 < len(visit["ids"]) <= VISIT_CAP
    held = {e["detail"]["event_id"] for e in events if event_digest(e["detail"]["event_id"]) in visit["ids"]}
    deduped = {pk[2:] for pk, _ in store.items if pk.startswith("E#")}
    assert held | deduped == {e["detail"]["event_id"] for e in events}
    assert not held & deduped


def test_a_session_marker_an_earlier_version_wrote_dedupes_by_dedupe_items():
    # Given a visit as the previous version left it: a marker without event digests, and a dedupe item for the
    # page view it counted
    first, second = _view(0, 7), _view(1, 7)
    service, store = memory_service(RollupConfig(), CLOCK)
    marker = keys.session(SessionMarker(DAY, "web", hashed("anonymous_id:anon-7")))
    store.items[marker] = {"pk": marker[0], "sk": marker[1], "expires_at": 1}
    dedupe = keys.dedupe(first["detail"]["event_id"])
    store.items[dedupe] = {"pk": dedupe[0], "sk": dedupe[1], "kind": "page_view"}

    # When the counted page view comes again with a new one
    result = service.apply_batch([first, second])

    # Then the first is a duplicate, the second counts (its session was counted then), by a dedupe item
    assert result.outcomes == ["duplicate", "counted"]
    assert _bucket(store) == {"page_views": Decimal(1)}
    assert keys.dedupe(second["detail"]["event_id"]) in store.items
    assert "ids" not in store.items[marker]


def test_page_views_before_a_sign_in_in_the_same_batch_are_counted_under_the_profile():
    # Given a visitor's page views, their sign-in (profile.created), and more page views, in one batch
    events = [_view(0, 9), _view(1, 9), _signed_in(9), _view(2, 9)]
    service, store = memory_service(RollupConfig(), CLOCK)

    # When the batch is applied
    result = service.apply_batch(events)

    # Then the views count once, in one session
    assert result.outcomes == ["counted", "counted", "linked", "counted"]
    assert _bucket(store)["page_views"] == 3
    assert _bucket(store)["sessions"] == 1
    # And they went to the profile directly: the visitor's pending customer is only a pointer to it, written once
    customers = {pk: item for (pk, sk), item in store.items.items() if pk.startswith("C#")}
    pending = [item for pk, item in customers.items() if pk.startswith("C#i-")]
    assert pending
    assert all(item.get("merged_into") == "p-profile-9" for item in pending)
    assert customers["C#p-profile-9"]["channels"] == ["web"]
    assert all(store.writes_per_item[(pk, "C")] == 1 for pk in customers)


def test_dedupe_items_outlive_the_redelivery_window_and_visits_their_late_events():
    # Given an order (a dedupe item) and a page view (a visit), counted now
    service, store = memory_service(RollupConfig(), CLOCK)
    service.apply_batch([_view(0, 4, kind="order"), _view(1, 4)])
    now = CLOCK().timestamp()

    # Then the dedupe item expires after 30 days (EventBridge retries, the archive's 14-day replay, the queue's 4
    # days and its dead-letter queue's 14), the visit after 400 (a late event of its day finds its session)
    (dedupe,) = [item for (pk, _), item in store.items.items() if pk.startswith("E#")]
    (visit,) = [item for (pk, _), item in store.items.items() if pk.startswith("S#")]
    assert int(dedupe["expires_at"]) - now == 30 * 86400
    assert int(visit["expires_at"]) - now == 400 * 86400
