"""Many resolvers at once on overlapping identifiers: one profile in the end, never two, never a cycle.

Every moto request is made atomic (as DynamoDB's are; see tests/support/profiles_harness.py), and the threads
start together behind a barrier, so transactions really race: the losers are cancelled and read again.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from omnichannel.canonical_event import CanonicalEvent
from profiles.logic.resolver_service import Outcome, Resolution
from tests.support.profiles_harness import ProfilesHarness, make_event, profiles_in_moto

THREADS = 16


def race(env: ProfilesHarness, events: list[CanonicalEvent]) -> list[Resolution]:
    barrier = threading.Barrier(len(events))
    resolver = env.resolver()

    def run(event: CanonicalEvent) -> Resolution:
        barrier.wait()
        return resolver.resolve(event)

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        return list(pool.map(run, events))


def assert_no_cycles(env: ProfilesHarness) -> None:
    pointers = {
        item["profile_id"]["S"]: item.get("merged_into", {}).get("S")
        for item in env.scan()
        if item["sk"]["S"] == "PROFILE"
    }
    for start in pointers:
        seen = {start}
        current = pointers[start]
        while current is not None:
            assert current not in seen, f"merge pointers cycle through {current}"
            seen.add(current)
            current = pointers[current]


def test_concurrent_events_over_a_chain_of_identifiers_end_in_exactly_one_profile() -> None:
    with profiles_in_moto() as env:
        # Devices a0..a16 linked pairwise (a0-a1, a1-a2, ...) by 16 events resolved at the same instant.
        events = [make_event({"anonymous_id": f"a{index}", "device_id": f"d{index}"}) for index in range(THREADS)] + [
            make_event({"device_id": f"d{index}", "anonymous_id": f"a{index + 1}"}) for index in range(THREADS - 1)
        ]
        results = race(env, events)
        assert all(result.outcome is not Outcome.NO_IDENTIFIERS for result in results)
        [group] = env.groups()
        assert len(group) == 2 * THREADS
        assert len(env.root_profiles()) == 1
        assert_no_cycles(env)
        # The transactions did collide (else this test proves nothing) and were retried.
        assert sum(result.attempts - 1 for result in results) > 0


def test_two_concurrent_events_with_the_same_new_identifiers_create_one_profile() -> None:
    with profiles_in_moto() as env:
        events = [make_event({"email": "ayse@posta.com.tr", "phone": "+905321112233"}) for _ in range(THREADS)]
        results = race(env, events)
        created = [result for result in results if result.outcome is Outcome.CREATED]
        assert len(created) == 1
        assert {result.profile_id for result in results} == {created[0].profile_id}
        assert len(env.root_profiles()) == 1


def test_the_same_event_delivered_to_many_resolvers_at_once_is_resolved_once() -> None:
    with profiles_in_moto() as env:
        event = make_event({"anonymous_id": "web-1", "user_id": "cust-1"})
        results = race(env, [event] * THREADS)
        outcomes = sorted(result.outcome.value for result in results)
        assert outcomes.count("created") == 1
        assert set(outcomes) == {"created", "duplicate"}
        assert len(env.root_profiles()) == 1
