"""An erasure without capture's identifier indexes, end to end in moto: the profiles function names the stored events
that carry the customer's identifiers (``events.erasure_requested``: its timeline rows, merged profiles' too, and the
cross-references of events resolved to someone else), the resolver asks for events that arrive after the erasure,
and capture deletes or redacts them by key. Exactly the events carrying an erased identifier change, and a request
delivered again changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from capture.dal.event_store import DynamoDBEventStore
from capture.logic.capture_service import IncomingEvent
from capture.logic.erasure import ErasureDecision, erase_customer_events
from omnichannel.canonical_event import CanonicalEvent, EventType
from omnichannel.event_bus import InMemoryPublisher
from omnichannel.identifiers import IdentifierType, Provenance, identifier_digest
from omnichannel.profile_directory import ProfileDirectory
from omnichannel.profile_events import EventsErasureRequested, ProfileEventType
from profiles.dal import profile_store
from profiles.handlers.stream_profiles import announced
from profiles.logic.erasure import erase_customer
from profiles.logic.resolver_service import Outcome
from profiles.logic.unmerge import undo_merge
from tests.support.profiles_harness import EVENTS_TABLE, PROFILES_TABLE, T0, ProfilesHarness, make_event
from tests.support.profiles_harness import profiles_in_moto as _profiles_in_moto


@dataclass
class World:
    """The profiles function and capture's events table in one moto."""

    env: ProfilesHarness
    events: DynamoDBEventStore

    def capture(self, event: CanonicalEvent) -> CanonicalEvent:
        """Stored by capture, then resolved by the profiles function (as the bus delivers it)."""
        self.store(event)
        self.env.resolver().resolve(event)
        return event

    def store(self, event: CanonicalEvent) -> None:
        assert self.events.store_new([IncomingEvent(event=event)]).stored == [event]

    def owner(self, kind: str, value: str) -> str:
        profile = self.env.store.owner_of((IdentifierType(kind), value))
        assert profile is not None
        return profile.profile_id

    def erase(self, profile_id: str) -> None:
        erase_customer(self.env.store, InMemoryPublisher(), profile_id, requested_by="dpo", now=self.env.clock[0])

    def requests(self) -> list[EventsErasureRequested]:
        """What the profiles table's stream announces for the erasure request items it holds."""
        found = []
        for item in self.env.scan():
            for bus_event in announced(item, {}):
                if bus_event.detail_type == ProfileEventType.EVENTS_ERASURE_REQUESTED:
                    found.append(EventsErasureRequested.model_validate(bus_event.detail))
        return sorted(found, key=lambda request: (str(request.profile_id), request.part))

    def apply(self, requests: list[EventsErasureRequested]) -> list[ErasureDecision]:
        """Capture's erasure consumer on each request (as bus_batch.erase does)."""
        directory = ProfileDirectory(PROFILES_TABLE, self.env.client)
        return [
            erase_customer_events(
                self.events,
                request.event_ids,
                request.erased,
                {*request.profile_ids, *([request.profile_id] if request.profile_id else [])},
                lambda identifier: directory.profile_of(*identifier),
            )
            for request in requests
        ]

    def stored(self) -> dict[str, CanonicalEvent]:
        items = self.env.client.scan(TableName=EVENTS_TABLE)["Items"]
        ids = [item["pk"]["S"].removeprefix("EVENT#") for item in items if item["sk"]["S"] == "EVENT"]
        return {event.event_id: event for event in self.events.load_events(ids)}


@contextmanager
def world() -> Iterator[World]:
    with _profiles_in_moto(with_events_table=True) as env:
        yield World(env, DynamoDBEventStore(env.client, EVENTS_TABLE))


def _asserted(identifiers: dict[str, str], **options: Any) -> CanonicalEvent:
    return make_event(identifiers, provenance=Provenance.ASSERTED, **options)


def test_a_shared_tablet_s_events_stay_for_the_other_customer_without_the_erased_one_s_identifiers() -> None:
    with world() as w:
        # Given a family tablet: the first customer signed in on it, then the second (a public key: the tablet
        # stays the first's, the second's events are resolved to the second and carry the first's tablet)
        mine = [
            w.capture(_asserted({"user_id": "u-1", "anonymous_id": "tablet", "email": "one@posta.com.tr"})),
            w.capture(_asserted({"user_id": "u-1", "anonymous_id": "tablet"}, name="Order Completed")),
        ]
        theirs_on_tablet = w.capture(_asserted({"user_id": "u-2", "anonymous_id": "tablet"}, name="Order Completed"))
        theirs_elsewhere = w.capture(_asserted({"user_id": "u-2", "anonymous_id": "phone-2"}))
        first, second = w.owner("user_id", "u-1"), w.owner("user_id", "u-2")
        assert first != second
        # When the first customer is erased and capture applies what the profiles function names
        w.erase(first)
        [request] = w.requests()
        assert set(request.event_ids) == {event.event_id for event in [*mine, theirs_on_tablet]}
        [decision] = w.apply([request])
        # Then the first's events are gone, the second's tablet order stays for them without the tablet's id, and
        # the second's other event is untouched
        assert sorted(decision.delete) == sorted(event.event_id for event in mine)
        stored = w.stored()
        assert set(stored) == {theirs_on_tablet.event_id, theirs_elsewhere.event_id}
        assert stored[theirs_on_tablet.event_id].identifiers == {"user_id": "u-2"}
        assert stored[theirs_elsewhere.event_id] == theirs_elsewhere


def test_erasing_the_customer_whose_events_carry_someone_else_s_device_keeps_them_for_its_owner() -> None:
    with world() as w:
        w.capture(_asserted({"user_id": "u-1", "anonymous_id": "tablet"}))
        shared = w.capture(_asserted({"user_id": "u-2", "anonymous_id": "tablet"}, name="Order Completed"))
        own = w.capture(_asserted({"user_id": "u-2"}, name="Order Completed"))
        # When the second customer (whose timeline holds the shared order) is erased
        w.erase(w.owner("user_id", "u-2"))
        [decision] = w.apply(w.requests())
        # Then the order stays for the tablet's owner without the second's id; the second's own order is gone
        assert decision.delete == [own.event_id]
        stored = w.stored()
        assert stored[shared.event_id].identifiers == {"anonymous_id": "tablet"}
        assert own.event_id not in stored


def test_a_merged_away_profile_s_events_are_erased_with_its_survivor() -> None:
    with world() as w:
        # Given a visitor's browsing on one device and a customer's account, merged by a later login
        browsing = [w.capture(make_event({"anonymous_id": "d-1"})) for _ in range(3)]
        account = w.capture(make_event({"user_id": "u-9", "email": "nine@posta.com.tr"}, kind=EventType.IDENTIFY))
        login = w.capture(make_event({"user_id": "u-9", "anonymous_id": "d-1"}, kind=EventType.IDENTIFY))
        survivor = w.owner("user_id", "u-9")
        someone_else = w.capture(make_event({"anonymous_id": "d-other"}))
        # When the survivor is erased
        w.erase(survivor)
        requests = w.requests()
        [decision] = w.apply(requests)
        # Then every event of both profiles is named and deleted; nobody else's is touched
        erased = {event.event_id for event in [*browsing, account, login]}
        assert set(requests[0].event_ids) == erased
        assert len(requests[0].profile_ids) == 2
        assert set(decision.delete) == erased
        assert set(w.stored()) == {someone_else.event_id}


def test_an_event_in_flight_during_the_erasure_is_erased_when_it_is_resolved() -> None:
    with world() as w:
        w.capture(make_event({"user_id": "u-5", "email": "five@posta.com.tr"}, kind=EventType.IDENTIFY))
        profile_id = w.owner("user_id", "u-5")
        # Given events stored by capture but not resolved yet when the customer is erased: one only theirs, one
        # that also carries a device nobody has seen
        only_theirs = make_event({"user_id": "u-5"}, name="Order Completed")
        with_a_new_device = make_event({"email": "five@posta.com.tr", "anonymous_id": "d-new"})
        w.store(only_theirs)
        w.store(with_a_new_device)
        w.erase(profile_id)
        w.apply(w.requests())
        # When the resolver gets them (after the erasure: their identifiers are suppressed)
        w.env.clock[0] = T0 + timedelta(minutes=5)
        assert w.env.resolver().resolve(only_theirs).outcome is Outcome.NO_IDENTIFIERS
        assert w.env.resolver().resolve(with_a_new_device).outcome is Outcome.CREATED
        # Then it asks capture to erase each (one request per late event, the suppressed identifiers' digests)
        late = [request for request in w.requests() if request.profile_id is None]
        assert sorted(request.event_ids[0] for request in late) == sorted(
            [only_theirs.event_id, with_a_new_device.event_id]
        )
        assert {digest for request in late for digest in request.erased} == {
            identifier_digest("user_id", "u-5"),
            identifier_digest("email", "five@posta.com.tr"),
        }
        w.apply(late)
        # And the event that was only theirs is gone; the other stays for the device's new profile, without the
        # erased e-mail
        stored = w.stored()
        assert only_theirs.event_id not in stored
        assert stored[with_a_new_device.event_id].identifiers == {"anonymous_id": "d-new"}
        assert "five@posta.com.tr" not in str(w.env.scan())


def test_a_request_delivered_again_changes_nothing() -> None:
    with world() as w:
        w.capture(_asserted({"user_id": "u-1", "anonymous_id": "tablet"}))
        w.capture(_asserted({"user_id": "u-2", "anonymous_id": "tablet"}))
        w.erase(w.owner("user_id", "u-1"))
        requests = w.requests()
        w.apply(requests)
        before = w.env.client.scan(TableName=EVENTS_TABLE)["Items"]
        # When the same requests come again (at-least-once delivery)
        [again] = w.apply(requests)
        # Then nothing is deleted or rewritten: the deleted events are gone, the redacted one no longer carries the
        # erased identifiers
        assert again.delete == []
        assert again.redact == []
        assert again.untouched == 2
        assert w.env.client.scan(TableName=EVENTS_TABLE)["Items"] == before


def test_a_resolution_redelivered_after_a_crash_still_left_its_cross_reference() -> None:
    with world() as w:
        w.capture(_asserted({"user_id": "u-1", "anonymous_id": "tablet"}))
        shared = _asserted({"user_id": "u-2", "anonymous_id": "tablet"})
        w.store(shared)
        resolver = w.env.resolver()
        commit = w.env.store.commit
        # Given the resolver dies after its cross-reference, before its commit
        w.env.store.commit = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("crash"))  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            resolver.resolve(shared)
        w.env.store.commit = commit  # type: ignore[method-assign]
        # When the event is delivered again, and then once more (resolved already)
        assert resolver.resolve(shared).outcome is Outcome.CREATED
        assert resolver.resolve(shared).outcome is Outcome.DUPLICATE
        # Then one cross-reference names it under the tablet, and the tablet owner's erasure finds it
        references = [item for item in w.env.scan() if item["pk"]["S"].startswith("XREF#")]
        assert [(item["pk"]["S"], item["sk"]["S"]) for item in references] == [
            (f"XREF#{identifier_digest('anonymous_id', 'tablet')}", shared.event_id)
        ]
        w.erase(w.owner("user_id", "u-1"))
        [request] = w.requests()
        assert shared.event_id in request.event_ids
        assert not [item for item in w.env.scan() if item["pk"]["S"].startswith("XREF#")]


def test_an_ordinary_event_writes_no_cross_reference() -> None:
    with world() as w:
        w.capture(make_event({"user_id": "u-1", "anonymous_id": "d-1", "email": "one@posta.com.tr"}))
        w.capture(make_event({"anonymous_id": "d-1"}))
        w.capture(make_event({"user_id": "u-1", "anonymous_id": "d-2"}))
        assert not [item for item in w.env.scan() if item["pk"]["S"].startswith("XREF#")]


def test_after_an_unmerge_the_restored_customer_s_erasure_finds_the_events_left_with_the_survivor() -> None:
    with world() as w:
        w.capture(make_event({"loyalty_card": "TR-ALI", "phone": "+905321110000"}, kind=EventType.IDENTIFY))
        w.env.clock[0] = T0 + timedelta(hours=1)
        w.capture(make_event({"email": "veli@posta.com.tr", "anonymous_id": "web-v"}, kind=EventType.IDENTIFY))
        w.env.clock[0] = T0 + timedelta(hours=2)
        wrong = w.capture(make_event({"loyalty_card": "TR-ALI", "email": "veli@posta.com.tr"}))
        ali = w.owner("loyalty_card", "TR-ALI")
        [merge] = w.env.store.merges_of(ali)
        undo_merge(w.env.store, ali, merge.merge_id, now=T0 + timedelta(hours=3))
        veli = w.owner("email", "veli@posta.com.tr")
        assert veli != ali
        # When Veli (restored) is erased
        w.erase(veli)
        [decision] = w.apply(w.requests())
        # Then the event that merged them (it stays in Ali's timeline) is found and kept for Ali without Veli's e-mail
        assert [event.event_id for event in decision.redact] == [wrong.event_id]
        assert w.stored()[wrong.event_id].identifiers == {"loyalty_card": "TR-ALI"}


def test_a_customer_with_many_events_is_announced_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_store, "EVENT_IDS_PER_ERASURE_REQUEST", 2)
    with world() as w:
        events = [w.capture(make_event({"user_id": "u-7"})) for _ in range(5)]
        w.erase(w.owner("user_id", "u-7"))
        requests = w.requests()
        # Then three requests of at most two ids each name the five events once, each a bus event of its own
        assert [(request.part, request.parts, len(request.event_ids)) for request in requests] == [
            (1, 3, 2),
            (2, 3, 2),
            (3, 3, 1),
        ]
        assert sorted(i for request in requests for i in request.event_ids) == sorted(e.event_id for e in events)
        assert len({request.event_id for request in requests}) == 3
        w.apply(requests)
        assert w.stored() == {}
