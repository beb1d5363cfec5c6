"""In-memory twins of the journeys table and the profiles table, with the same guarantees (revisions, event
marks, stable effect ids): for unit tests, the harness's simulations and the lift simulation of 10,000
customers, where moto would spend minutes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from journeys.dal.items import REPUBLISH_AFTER
from journeys.logic.clock import iso
from journeys.logic.ports import Conflict, DueItem, StoredEffect
from journeys.models.state import Change, CustomerFacts, CustomerState, Delivery, Profile, Run


@dataclass
class _Customer:
    facts: CustomerFacts
    runs: dict[str, Run] = field(default_factory=dict)
    effects: dict[str, tuple[StoredEffect, str | None]] = field(default_factory=dict)  # id -> (effect, due)
    seen: set[str] = field(default_factory=set)


class InMemoryJourneyStore:
    def __init__(self) -> None:
        self._customers: dict[str, _Customer] = {}
        self._counters: dict[str, dict[str, int]] = {}
        self.commits = 0

    def _customer(self, profile_id: str) -> _Customer:
        if profile_id not in self._customers:
            self._customers[profile_id] = _Customer(CustomerFacts(profile_id))
        return self._customers[profile_id]

    def load(self, profile_id: str) -> CustomerState:
        customer = self._customers.get(profile_id)
        if customer is None:
            return CustomerState.empty(profile_id)
        return CustomerState(profile_id, customer.facts, dict(customer.runs))

    def commit(
        self,
        state: CustomerState,
        change: Change,
        *,
        event_id: str | None,
        now: datetime,
        retire: CustomerState | None = None,
    ) -> bool:
        customer = self._customer(state.profile_id)
        if event_id is not None and event_id in customer.seen:
            return False
        for journey_id, run in change.runs.items():
            stored = customer.runs.get(journey_id)
            if (stored.revision if stored else 0) != run.revision:
                raise Conflict(state.profile_id)
        if change.facts is not None and customer.facts.revision != change.facts.revision:
            raise Conflict(state.profile_id)
        if any(effect.event_id in customer.effects for effect in change.effects):
            raise Conflict(state.profile_id)
        if retire is not None:
            self._check_retirement(retire)
        self.commits += 1
        if event_id is not None:
            customer.seen.add(event_id)
        for journey_id, run in change.runs.items():
            customer.runs[journey_id] = replace(run, revision=run.revision + 1)
        if change.facts is not None:
            customer.facts = replace(change.facts, revision=change.facts.revision + 1)
        for effect in change.effects:
            stored_effect = StoredEffect(
                effect.event_id,
                state.profile_id,
                effect.kind,
                effect.journey_id,
                effect.step_id,
                effect.detail_type,
                effect.detail,
                effect.created_at,
                effect.channel,
                effect.summary,
            )
            customer.effects[effect.event_id] = (stored_effect, iso(now + REPUBLISH_AFTER))
        for journey_id, counts in change.counters.items():
            totals = self._counters.setdefault(journey_id, {})
            for name, amount in counts.items():
                totals[name] = totals.get(name, 0) + amount
        if retire is not None:
            gone = self._customers[retire.profile_id]
            gone.runs.clear()
            gone.facts = CustomerFacts(retire.profile_id)
        return True

    def _check_retirement(self, retire: CustomerState) -> None:
        gone = self._customers.get(retire.profile_id)
        stored = gone.runs if gone else {}
        if {key: run.revision for key, run in stored.items()} != {k: r.revision for k, r in retire.runs.items()}:
            raise Conflict(retire.profile_id)

    def restore(
        self,
        survivor: CustomerState,
        restored: CustomerState,
        *,
        runs: Sequence[Run],
        keep: Mapping[str, Run],
        effects: Sequence[StoredEffect],
        facts: CustomerFacts | None,
        event_id: str,
        now: datetime,
    ) -> bool:
        back = self._customer(restored.profile_id)
        if event_id in back.seen:
            return False
        source = self._customer(survivor.profile_id)
        stored = {journey_id: run.revision for journey_id, run in source.runs.items()}
        if any(stored.get(run.journey_id) != run.revision for run in runs):
            raise Conflict(survivor.profile_id)
        if any(journey_id in back.runs for journey_id in keep) or (facts is not None and back.facts.revision):
            raise Conflict(restored.profile_id)
        if any(effect.event_id not in source.effects or effect.event_id in back.effects for effect in effects):
            raise Conflict(restored.profile_id)
        self.commits += 1
        back.seen.add(event_id)
        for run in runs:
            del source.runs[run.journey_id]
        for journey_id, run in keep.items():
            back.runs[journey_id] = replace(run, revision=1)
        if facts is not None:
            back.facts = replace(facts, revision=1)
        for effect in effects:
            moved, due = source.effects.pop(effect.event_id)
            back.effects[effect.event_id] = (replace(moved, profile_id=restored.profile_id), due)
        return True

    def mark_published(self, profile_id: str, event_ids: Sequence[str], now: datetime) -> None:
        customer = self._customers.get(profile_id)
        if customer is None:
            return
        for event_id in event_ids:
            if event_id in customer.effects:
                effect, _ = customer.effects[event_id]
                customer.effects[event_id] = (replace(effect, published_at=iso(now)), None)

    def record_delivery(self, profile_id: str, effect: StoredEffect, delivery: Delivery, counter: str) -> bool:
        customer = self._customers.get(profile_id)
        found = customer.effects.get(effect.event_id) if customer else None
        if customer is None or found is None or found[0].delivery is not None:
            return False
        stored, _ = found
        published_at = stored.published_at or delivery.at
        customer.effects[effect.event_id] = (replace(stored, delivery=delivery, published_at=published_at), None)
        totals = self._counters.setdefault(effect.journey_id, {})
        totals[counter] = totals.get(counter, 0) + 1
        return True

    def due(self, now: datetime, limit: int) -> list[DueItem]:
        at = iso(now)
        found: list[tuple[str, DueItem]] = []
        for profile_id, customer in self._customers.items():
            for journey_id, run in customer.runs.items():
                if run.open and run.due_at is not None and run.due_at <= at:
                    found.append((run.due_at, DueItem("run", profile_id, journey_id)))
            for event_id, (_, due) in customer.effects.items():
                if due is not None and due <= at:
                    found.append((due, DueItem("effect", profile_id, event_id)))
        return [item for _, item in sorted(found, key=lambda pair: pair[0])][:limit]

    def next_due(self) -> str | None:
        """When the earliest wait or unannounced effect comes due (the harness moves its clock there)."""
        times = [run.due_at for c in self._customers.values() for run in c.runs.values() if run.open and run.due_at] + [
            due for c in self._customers.values() for _, due in c.effects.values() if due
        ]
        return min(times, default=None)

    def effect(self, profile_id: str, event_id: str) -> StoredEffect | None:
        customer = self._customers.get(profile_id)
        found = customer.effects.get(event_id) if customer else None
        return found[0] if found else None

    def effects(self, profile_id: str) -> list[StoredEffect]:
        customer = self._customers.get(profile_id)
        return sorted((e for e, _ in customer.effects.values()), key=lambda e: e.created_at) if customer else []

    def erase(self, profile_ids: Sequence[str]) -> int:
        removed = 0
        for profile_id in profile_ids:
            customer = self._customers.pop(profile_id, None)
            if customer is not None:
                removed += len(customer.runs) + len(customer.effects) + len(customer.seen) + 1
        return removed

    def counters(self, journey_id: str) -> dict[str, int]:
        return dict(self._counters.get(journey_id, {}))


class InMemoryCustomers:
    """Profiles by id and identifiers by value (``type:value``), with merge pointers."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.owners: dict[str, str] = {}
        self.merged_into: dict[str, str] = {}

    def add(self, profile: Profile) -> Profile:
        self.profiles[profile.profile_id] = profile
        for kind, values in profile.identifiers.items():
            for value in values:
                self.owners[f"{kind}:{value}"] = profile.profile_id
        return profile

    def profile_of(self, identifiers: Mapping[str, str]) -> str | None:
        for kind, value in identifiers.items():
            owner = self.owners.get(f"{kind}:{value}")
            if owner is not None:
                return self.survivor_of(owner)
        return None

    def survivor_of(self, profile_id: str) -> str | None:
        current = profile_id
        while current in self.merged_into:
            current = self.merged_into[current]
        return current if current in self.profiles else None

    def profile(self, profile_id: str) -> Profile | None:
        return self.profiles.get(profile_id)
