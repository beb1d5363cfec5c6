"""Property: whatever the events, their repeats and their order, the profiles the resolver ends with group the
identifiers exactly as a plain union-find does under the same merge rules (priority, per-type limits,
blocklist), processing the same deliveries in the same order.

The oracle below is written from the rules' statement, not from the resolver's code: per event, identifiers in
priority order (then by value); the first one's component (or the identifier alone) starts the group; each next
one joins with its whole component unless the union would hold more values of a type than the type's limit, or
the event is asserted (a client write key) and both that component and the group already hold an identity
(anything but device and browser ids); a blocklisted value is ignored; a repeated event id is ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnichannel.identifiers import IdentifierType, Provenance
from profiles.dal.profile_store import DynamoDBProfileStore
from profiles.logic.identity_rules import IdentityRules
from tests.support.moto_tables import create_table, table_properties
from tests.support.profiles_harness import ProfilesHarness, make_event, profiles_in_moto
from tests.support.property_strength import examples

RULES = IdentityRules.from_settings(limits_json='{"email": 2, "anonymous_id": 3}', blocklist_json='{"email": ["junk"]}')
POOL: dict[str, list[str]] = {
    "user_id": ["u1", "u2"],
    "email": ["e1", "e2", "e3", "junk"],
    "phone": ["p1", "p2"],
    "anonymous_id": ["a1", "a2", "a3", "a4"],
    "device_id": ["d1"],
}
Identifier = tuple[str, str]
_examples = itertools.count()


class UnionFindOracle:
    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self.parent: dict[Identifier, Identifier] = {}
        self.seen_events: set[str] = set()

    def find(self, item: Identifier) -> Identifier:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def members(self, root: Identifier) -> list[Identifier]:
        return [item for item in self.parent if self.find(item) == root]

    def over_limit(self, members: list[Identifier]) -> bool:
        counts: dict[str, set[str]] = {}
        for kind, value in members:
            counts.setdefault(kind, set()).add(value)
        return any(len(values) > self.rules.limit(IdentifierType(kind)) for kind, values in counts.items())

    @staticmethod
    def bears_identity(members: list[Identifier]) -> bool:
        return any(kind not in ("anonymous_id", "device_id") for kind, _ in members)

    def apply(self, event_id: str, identifiers: dict[str, str], *, asserted: bool = False) -> None:
        if event_id in self.seen_events:
            return
        self.seen_events.add(event_id)
        usable = [
            (kind, value)
            for kind, value in identifiers.items()
            if not self.rules.is_blocked(IdentifierType(kind), value)
        ]
        usable.sort(key=lambda item: (self.rules.rank(IdentifierType(item[0])), item[1]))
        group: list[Identifier] = []
        for item in usable:
            known = item in self.parent
            if known and group and self.find(item) == self.find(group[0]):
                continue
            incoming = self.members(self.find(item)) if known else [item]
            if group and self.over_limit(group + incoming):
                continue
            if asserted and known and group and self.bears_identity(incoming) and self.bears_identity(group):
                continue
            if not known:
                self.parent[item] = item
            if group:
                self.parent[self.find(item)] = self.find(group[0])
            group = self.members(self.find(item))

    def groups(self) -> set[frozenset[Identifier]]:
        by_root: dict[Identifier, set[Identifier]] = {}
        for item in self.parent:
            by_root.setdefault(self.find(item), set()).add(item)
        return {frozenset(group) for group in by_root.values()}


def event_identifiers() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(sorted(POOL)), st.just(""), min_size=1, max_size=4).flatmap(
        lambda chosen: st.fixed_dictionaries({kind: st.sampled_from(POOL[kind]) for kind in chosen})
    )


deliveries = st.lists(event_identifiers(), min_size=1, max_size=8).flatmap(
    lambda events: st.tuples(
        st.just(events),
        # Which events are delivered, how often (at least once) and in what order.
        st.lists(st.integers(0, len(events) - 1), min_size=len(events), max_size=2 * len(events)).map(
            lambda extra: list(range(len(events))) + extra[len(events) :]
        ),
        st.randoms(use_true_random=False),
    )
)


@pytest.fixture(scope="module")
def env() -> Iterator[ProfilesHarness]:
    with profiles_in_moto(RULES) as harness:
        yield harness


@contextmanager
def fresh_table(env: ProfilesHarness) -> Iterator[ProfilesHarness]:
    """A new table per example: moto copies every table on each transaction, so a shared one grows slow."""
    name = f"profiles-{next(_examples)}"
    create_table(env.client, name, table_properties("ProfilesTable"))
    try:
        yield ProfilesHarness(env.client, DynamoDBProfileStore(env.client, name), RULES)
    finally:
        env.client.delete_table(TableName=name)


def resolved_groups(env: ProfilesHarness) -> set[frozenset[Identifier]]:
    by_profile: dict[str, set[Identifier]] = {}
    for kind, values in POOL.items():
        for value in values:
            owner = env.store.owner_of((IdentifierType(kind), value))
            if owner is not None:
                by_profile.setdefault(owner.profile_id, set()).add((kind, value))
    return {frozenset(group) for group in by_profile.values()}


@pytest.mark.property
@settings(
    max_examples=examples(500, quick=100),  # 500 in make deep: about 80 s on a busy 2-core machine
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=deliveries)
def test_profiles_equal_the_union_find_components_under_the_merge_rules(env: ProfilesHarness, case: tuple) -> None:  # type: ignore[type-arg]
    events, order, shuffle = case
    shuffle.shuffle(order)
    oracle = UnionFindOracle(RULES)
    built = [make_event(identifiers) for identifiers in events]
    with fresh_table(env) as table:
        resolver = table.resolver(sleep=lambda _: None)
        for index in order:
            resolver.resolve(built[index])
            oracle.apply(built[index].event_id, events[index])
        assert resolved_groups(table) == oracle.groups()


asserted_deliveries = st.lists(st.tuples(event_identifiers(), st.booleans()), min_size=1, max_size=8).flatmap(
    lambda events: st.tuples(
        st.just(events),
        st.lists(st.integers(0, len(events) - 1), min_size=len(events), max_size=2 * len(events)).map(
            lambda extra: list(range(len(events))) + extra[len(events) :]
        ),
        st.randoms(use_true_random=False),
    )
)


@pytest.mark.property
@settings(
    max_examples=examples(300, quick=60),  # 300 in make deep
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=asserted_deliveries)
def test_asserted_links_never_join_two_identities_and_otherwise_follow_the_same_rules(
    env: ProfilesHarness,
    case: tuple,  # type: ignore[type-arg]
) -> None:
    # Given events from client write keys (asserted) and from verified sources, delivered in any order and repeated
    events, order, shuffle = case
    shuffle.shuffle(order)
    oracle = UnionFindOracle(RULES)
    built = [
        make_event(identifiers, provenance=Provenance.ASSERTED if asserted else Provenance.VERIFIED)
        for identifiers, asserted in events
    ]
    with fresh_table(env) as table:
        resolver = table.resolver(sleep=lambda _: None)
        for index in order:
            resolver.resolve(built[index])
            oracle.apply(built[index].event_id, events[index][0], asserted=events[index][1])
        # Then the profiles group the identifiers as the oracle does
        assert resolved_groups(table) == oracle.groups()
