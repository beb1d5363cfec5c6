"""Rolls bus events up into the KPI aggregates, exactly once each, a batch at a time, and keeps each customer's
totals and lifecycle stage.

Per batch: identity events (``profile.*``) are applied in their place; the facts are recorded after the links and
merges before them (a fold is a sum: where a fact lands first does not change what the profile ends with), an
erasure being a barrier. The facts' customers are resolved (one read) and loaded (one read), the visits their page,
screen and store-visit events fall in are read (one read), and then the facts are written in as few commits as
DynamoDB's 100 items per transaction allow: first the customers (each changed one on the condition that its version
is the one read, with the dedupe records and counter deltas of its orders, refunds, leads, sign-ups and surveys;
a change that moves no counter, a visitor's new touch, as a conditional put of its own), then the visits (a visit
counts its events once: it holds their digests, on the condition that it held none of them; a full one is closed
and its further events get dedupe records), with their counters summed per aggregate. A page view's change to its
customer is idempotent (sets grow), and committed before its visit: a visit that holds an event tells that the
rest is in. A commit cancelled by a duplicate is retried without it; by a visit changed meanwhile, on the visit
read again; by a customer changed meanwhile, on the fresh state; by a conflict with a concurrent transaction,
after a short pause.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from kpis.logic import distinct
from kpis.logic.customer import (
    AttributionSettings,
    Contributions,
    CustomerState,
    contributions,
    credit_inputs,
    difference,
    summed,
)
from kpis.logic.customer_keys import hashed, is_pending, pending_customer, profile_customer
from kpis.logic.dispatch import Erase, Link, Merge, parse
from kpis.logic.facts import SESSION_KINDS, UNCONVERTED_COUNT, Fact, FactKind
from kpis.logic.inputs import UncountableEvent
from kpis.logic.lifecycle import LifecycleThresholds, next_review, rfm, stage_of
from kpis.logic.money import FxRates, MoneyError, amount, currency_code
from kpis.logic.ports import (
    Aggregate,
    Commit,
    CommitRejected,
    CustomerWrite,
    Deltas,
    Kind,
    KpiRepository,
    SessionMarker,
    Visit,
    VisitWrite,
)
from omnichannel.canonical_event import CAPTURE_SOURCE
from omnichannel.identifiers import Provenance
from omnichannel.kpi_events import LifecycleChanged, lifecycle_event_id

# Which identifier names the customer when several are known and no profile holds any yet.
PRECEDENCE = (
    "user_id", "email", "phone", "loyalty_card", "pos_customer", "whatsapp", "messenger", "instagram",
    "device_id", "anonymous_id",
)  # fmt: skip
MAX_ATTEMPTS = 16
MAX_POINTER_HOPS = 16
TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class RollupConfig:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Istanbul"))
    fx: FxRates = field(default_factory=lambda: FxRates("TRY", {}))
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    thresholds: LifecycleThresholds = field(default_factory=LifecycleThresholds)
    distinct_cap: int = distinct.DEFAULT_CAP


class LifecycleSink(Protocol):
    def announce(self, changes: Sequence[LifecycleChanged]) -> None: ...


Scorer = Callable[[CustomerState, date], dict[str, Any]]


def no_scores(state: CustomerState, today: date) -> dict[str, Any]:
    return {}


class ConcurrentUpdates(RuntimeError):
    """The same items kept changing under us (MAX_ATTEMPTS times); the batch is retried as a whole."""


@dataclass
class BatchResult:
    """``poison``: index -> why the event can never be counted (the caller quarantines it); ``outcomes``: what
    happened to each event (``counted``, ``duplicate``, ``ignored``, ``linked``, ``merged``, ``erased``,
    ``uncountable``)."""

    poison: dict[int, str] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)


class _DistinctWrites:
    """A batch's changes to the distinct-customer sets, written once at the end of the batch.

    Adding to and taking from a set are idempotent, and applied one after the other only the last change of each
    member counts, so holding them until the batch is done and writing each member's last change gives the same
    sets, with one write per day, channel and shard touched (and one more for the members taken out) instead of
    one per commit or fold: a day's busiest set is no longer written once per event that names a new customer.
    """

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], dict[str, bool]] = {}  # (day, channel) -> member -> present
        self.pending: set[str] = set()  # pending customers that added members (see _recheck_folded)
        self.moved: set[str] = set()  # customers whose members this batch moved itself (a fold)

    def add(self, day: str, channel: str, members: Iterable[str]) -> None:
        changes = self.last.setdefault((day, channel), {})
        for member in members:
            changes.pop(member, None)  # re-inserted: insertion order is the order of the last change
            changes[member] = True

    def remove(self, day: str, channel: str, members: Iterable[str]) -> None:
        changes = self.last.setdefault((day, channel), {})
        for member in members:
            changes.pop(member, None)
            changes[member] = False


@dataclass
class _Unit:
    """Facts of one customer (None: facts without a customer), or of one visit, that go into one commit."""

    customer: str | None
    facts: list[tuple[int, Fact]]
    visit: SessionMarker | None = None
    lone_attempts: int = 0  # conditional puts of its own that found the customer changed


@dataclass
class _Visits:
    """The batch's visits as read (and as its commits left them), and the customer of each page view."""

    views: dict[SessionMarker, Visit] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # event id -> customer key


@dataclass
class _Plan:
    commit: Commit
    before: CustomerState | None = None
    after: CustomerState | None = None


def _add(into: Deltas, key: Aggregate, numbers: Mapping[str, Decimal]) -> None:
    target = into.setdefault(key, {})
    for name, value in numbers.items():
        target[name] = target.get(name, ZERO) + value


def _nonzero(deltas: Deltas) -> Deltas:
    out: Deltas = {}
    for key, numbers in deltas.items():
        kept = {name: value for name, value in numbers.items() if value}
        if kept:
            out[key] = kept
    return out


def _lone(commit: Commit) -> bool:
    return len(commit.customers) == 1 and not (commit.dedupes or commit.visits or commit.deltas)


def _dedupe_record(fact: Fact) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": fact.kind.value, "day": fact.day, "channel": fact.channel}
    if fact.money is not None:
        record["conversion"] = fact.conversion_record()
    return record


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        fields = [".".join(str(part) for part in item["loc"]) or "detail" for item in error.errors()]
        return "malformed detail: " + ", ".join(sorted(set(fields)))
    if isinstance(error, UncountableEvent | MoneyError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _figures_anyone_sent(event: Mapping[str, Any], error: Exception) -> bool:
    """Whether the figures that cannot be counted came from a public client write key (an order without a currency,
    say: capture refuses malformed ones). Such an event is left out and counted (``KpiEventsUncountable``), not
    quarantined: whoever holds the public key must not be able to fill the dead-letter queue and keep its alarm
    ringing. From a verified source (a server key, a webhook) it is an integration's fault, quarantined."""
    detail = event.get("detail")
    return (
        isinstance(error, UncountableEvent | MoneyError)
        and event.get("source") == CAPTURE_SOURCE
        and isinstance(detail, Mapping)
        and detail.get("provenance", Provenance.ASSERTED.value) != Provenance.VERIFIED.value
    )


class RollupService:
    def __init__(
        self,
        repository: KpiRepository,
        config: RollupConfig,
        clock: Callable[[], datetime],
        sink: LifecycleSink | None = None,
        scorer: Scorer = no_scores,
        *,
        backoff: Callable[[int], None] | None = None,
    ) -> None:
        self.repository = repository
        self.config = config
        self.clock = clock
        self.sink = sink
        self.scorer = scorer
        self._backoff = backoff or _sleep
        self._distinct: _DistinctWrites | None = None  # set while a batch is applied

    def today(self) -> date:
        return self.clock().astimezone(self.config.zone).date()

    # ------------------------------------------------------------------ customers
    def resolve(self, identifiers: Mapping[str, str]) -> str:
        """The customer key of one set of identifiers (see :meth:`_resolve_all`)."""
        return self._resolve_all([dict(identifiers)])[0]

    def _resolve_all(self, identifier_sets: Sequence[Mapping[str, str]]) -> list[str]:
        """Per set: the profile holding one of its identifiers (by precedence), else the pending key of its
        strongest identifier. One read of the identifier map for all of them."""
        ordered: list[list[tuple[str, str]]] = []
        for identifiers in identifier_sets:
            present = [(kind, identifiers[kind]) for kind in PRECEDENCE if identifiers.get(kind)]
            present += sorted((k, v) for k, v in identifiers.items() if k not in PRECEDENCE and v)
            if not present:
                raise ValueError("the event carries no identifier")
            ordered.append(present)
        owners = self.repository.owners(list({pair for present in ordered for pair in present}))
        out = []
        for present in ordered:
            found = next((owners[pair] for pair in present if pair in owners), None)
            out.append(found or pending_customer(*present[0]))
        return out

    def load(self, customer_key: str) -> CustomerState:
        """The customer's state, following merge pointers to the survivor."""
        return self._load_all([customer_key])[customer_key]

    def _load_all(self, customer_keys: Sequence[str]) -> dict[str, CustomerState]:
        """Each key's state, merge pointers followed to the survivor (one read per pointer hop)."""
        resolved: dict[str, CustomerState] = {}
        pending = {key: key for key in customer_keys}  # original -> where we are
        for _ in range(MAX_POINTER_HOPS):
            if not pending:
                return resolved
            records = self.repository.customers(sorted(set(pending.values())))
            following: dict[str, str] = {}
            for original, current in pending.items():
                state = CustomerState.from_item(current, records.get(current))
                if state.merged_into is None:
                    resolved[original] = state
                else:
                    following[original] = state.merged_into
            pending = following
        raise RuntimeError(f"merge pointers of {sorted(pending)} go deeper than {MAX_POINTER_HOPS}")

    # ------------------------------------------------------------------ batches
    def apply_batch(self, events: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Applies a batch of EventBridge events, in order. Raises for a transient failure (the whole batch is
        delivered again; per-event dedupe makes that exact)."""
        result = BatchResult(outcomes=["ignored"] * len(events))
        self._distinct = _DistinctWrites()
        try:
            self._apply_batch(events, result)
            writes = self._distinct
        finally:
            self._distinct = None  # a failed batch comes again whole: its sets are written then (idempotent)
        self._write_distinct(writes)
        return result

    def _apply_batch(self, events: Sequence[Mapping[str, Any]], result: BatchResult) -> None:
        facts: list[tuple[int, Fact]] = []
        for index, event in enumerate(events):
            try:
                meaning = parse(
                    str(event.get("source", "")),
                    str(event.get("detail-type", "")),
                    event.get("detail"),
                    self.config.zone,
                    self.config.fx,
                )
            except (UncountableEvent, ValidationError, MoneyError, ArithmeticError, ValueError) as error:
                # parse is pure: whatever it raises (a date past the calendar's end, an amount that overflows) it
                # raises for this event every time, so the event is poison, not the batch.
                result.outcomes[index] = "uncountable"
                if not _figures_anyone_sent(event, error):
                    result.poison[index] = _reason(error)
                continue
            if isinstance(meaning, Fact):
                facts.append((index, meaning))
            elif meaning is not None:
                if isinstance(meaning, Erase):  # what came before an erasure is counted (and erased) first
                    self._record(facts, result)
                    facts = []
                result.outcomes[index] = self._identity(meaning)
        self._record(facts, result)

    def _identity(self, change: Link | Merge | Erase) -> str:
        if isinstance(change, Link):
            self.link(change.profile_id, change.identifiers)
            return "linked"
        if isinstance(change, Merge):
            self.merge(change.survivor_id, change.merged_id, change.moved)
            return "merged"
        self.erase(change.profile_ids, change.identifiers)
        return "erased"

    def record(self, fact: Fact) -> bool:
        """One fact on its own; False when it had been counted already."""
        result = BatchResult(outcomes=["ignored"])
        self._record([(0, fact)], result)
        return result.outcomes[0] == "counted"

    def _record(self, facts: list[tuple[int, Fact]], result: BatchResult) -> None:
        seen: set[str] = set()
        unique = []
        for index, fact in facts:  # the same event twice in one batch: the second is a duplicate
            if fact.event_id in seen:
                result.outcomes[index] = "duplicate"
            else:
                seen.add(fact.event_id)
                unique.append((index, fact))
        facts = unique
        if not facts:
            return
        with_customer = [(index, fact) for index, fact in facts if fact.kind is not FactKind.RECOVERED]
        keys = self._resolve_all([fact.identifiers for _, fact in with_customer])
        states = self._load_all(sorted(set(keys)))
        units: dict[str, _Unit] = {}
        visits = _Visits()
        visit_units: dict[SessionMarker, _Unit] = {}
        for (index, fact), key in zip(with_customer, keys, strict=True):
            resolved = states[key].key
            states[resolved] = states[key]
            units.setdefault(resolved, _Unit(resolved, [])).facts.append((index, fact))
            if fact.kind in SESSION_KINDS:
                marker = SessionMarker(fact.day, fact.channel, hashed(fact.visitor or resolved))
                visit_units.setdefault(marker, _Unit(None, [], marker)).facts.append((index, fact))
                visits.owner[fact.event_id] = resolved
        duplicates: list[tuple[str | None, Fact]] = []
        if visit_units:
            visits.views = self.repository.visits(
                {marker: [fact.event_id for _, fact in unit.facts] for marker, unit in visit_units.items()}
            )
            counted: set[str] = set()
            for unit in visit_units.values():
                counted |= self._drop_counted(unit, visits, result, duplicates)
            for unit in units.values():  # their customers' changes were committed before their visits were
                unit.facts = [(index, fact) for index, fact in unit.facts if fact.event_id not in counted]
        # Customers first, then visits: a visit that holds an event tells that its customer's change is in.
        phases = [
            [*units.values(), *(_Unit(None, [pair]) for pair in facts if pair[1].kind is FactKind.RECOVERED)],
            [unit for unit in visit_units.values() if unit.facts],
        ]
        touched: dict[str, tuple[CustomerState, CustomerState]] = {}
        for phase in phases:
            queue = deque(phase)
            while queue:
                chosen, plans = self._next_commit(queue, states, visits)
                self._commit(chosen, plans, queue, states, visits, result, touched, duplicates)
        self._after_commits(touched, duplicates, states)

    @staticmethod
    def _drop_counted(
        unit: _Unit, visits: _Visits, result: BatchResult, duplicates: list[tuple[str | None, Fact]]
    ) -> set[str]:
        """A visit's events it counted already (it holds them, or their dedupe items exist): duplicates."""
        assert unit.visit is not None
        counted = visits.views[unit.visit].counted
        kept = []
        dropped = set()
        for index, fact in unit.facts:
            if fact.event_id in counted:
                result.outcomes[index] = "duplicate"
                duplicates.append((visits.owner.get(fact.event_id), fact))
                dropped.add(fact.event_id)
            else:
                kept.append((index, fact))
        unit.facts = kept
        return dropped

    def _next_commit(
        self, queue: deque[_Unit], states: dict[str, CustomerState], visits: _Visits
    ) -> tuple[list[_Unit], list[_Plan]]:
        """The units at the head of the queue that fit in one transaction (a unit too large is split), planned."""
        chosen: list[_Unit] = []
        plans: list[_Plan] = []
        size = 0
        aggregates: set[Aggregate] = set()
        while queue:
            unit = queue[0]
            if unit.customer is not None and any(other.customer == unit.customer for other in chosen):
                break
            if unit.visit is not None and any(other.visit == unit.visit for other in chosen):
                break
            plan = self._plan(unit, states, visits)
            new_keys = set(plan.commit.deltas) - aggregates
            added = len(plan.commit.dedupes) + len(plan.commit.visits) + len(plan.commit.customers) + len(new_keys)
            if size + added > TRANSACTION_ITEMS:
                if chosen:
                    break
                if len(unit.facts) == 1:
                    raise RuntimeError(f"one event needs {added} items, more than a transaction holds")
                queue.popleft()
                half = len(unit.facts) // 2
                queue.appendleft(_Unit(unit.customer, unit.facts[half:], unit.visit))
                queue.appendleft(_Unit(unit.customer, unit.facts[:half], unit.visit))
                continue
            chosen.append(queue.popleft())
            plans.append(plan)
            size += added
            aggregates |= new_keys
        return chosen, plans

    def _plan(self, unit: _Unit, states: dict[str, CustomerState], visits: _Visits) -> _Plan:
        """A customer's unit: its state's change (page, screen and store-visit events change it idempotently: a
        set grows) and the counters and dedupe records of its other events. A visit's unit: the counters of its
        events, counted once by the visit itself (or, when it is full, by their dedupe records)."""
        if unit.visit is not None:
            return self._plan_visit(unit, visits.views[unit.visit])
        commit = Commit()
        deltas: Deltas = {}
        before = states[unit.customer] if unit.customer is not None else None
        after = before
        for _, fact in unit.facts:
            if fact.kind not in SESSION_KINDS:
                commit.dedupes[fact.event_id] = _dedupe_record(fact)
                _add(deltas, Aggregate(Kind.BUCKET, fact.day, fact.channel), fact.counters())
            if after is not None:
                after = after.with_fact(fact)
        if (
            before is not None
            and after is not None
            and (after.to_item() != before.to_item() or before.attribution != self.config.attribution.label)
        ):
            scored = any(fact.kind in (FactKind.ORDER, FactKind.REFUND) for _, fact in unit.facts)
            after = self._finish(before, after, scores_changed=scored)
            deltas = summed(deltas, self._change(before, after))
            commit.customers.append(self._write(before, after))
        else:
            after = before
        commit.deltas = _nonzero(deltas)
        return _Plan(commit, before, after)

    @staticmethod
    def _plan_visit(unit: _Unit, view: Visit) -> _Plan:
        assert unit.visit is not None
        commit = Commit()
        deltas: Deltas = {}
        events = tuple(fact.event_id for _, fact in unit.facts)
        fits = len(events) <= view.room
        if not view.taken or view.room:  # a visit to start, or one that holds its events: written
            commit.visits.append(VisitWrite(unit.visit, events, start=not view.taken, close=not fits, room=view.room))
        for position, (_, fact) in enumerate(unit.facts):
            if not fits:
                commit.dedupes[fact.event_id] = _dedupe_record(fact)
            counters = fact.counters()
            if position == 0 and not view.taken:  # the visit's first event starts its session
                counters["sessions"] = ONE
                if fact.campaign is not None:
                    _add(deltas, Aggregate(Kind.CAMPAIGN, fact.day, fact.campaign.name), {"sessions": ONE})
                    _add(deltas, Aggregate(Kind.SOURCE, fact.day, fact.campaign.source_medium), {"sessions": ONE})
            _add(deltas, Aggregate(Kind.BUCKET, fact.day, fact.channel), counters)
        commit.deltas = _nonzero(deltas)
        return _Plan(commit)

    def _change(self, before: CustomerState, after: CustomerState) -> Contributions:
        """The aggregates' change when a customer goes from ``before`` to ``after`` (and its stage's movement)."""
        credits = credit_inputs(before) != credit_inputs(after)
        change = difference(contributions(before, with_credits=credits), contributions(after, with_credits=credits))
        return summed(change, self._movement(before.stage, after.stage))

    def _movement(self, before: str | None, after: str | None) -> Deltas:
        if before == after:
            return {}
        name = f"moved:{before or 'none'}>{after or 'none'}"
        return {Aggregate(Kind.LIFECYCLE, self.today().isoformat()): {name: ONE}}

    def _commit(
        self,
        units: list[_Unit],
        ready: list[_Plan] | None,
        queue: deque[_Unit],
        states: dict[str, CustomerState],
        visits: _Visits,
        result: BatchResult,
        touched: dict[str, tuple[CustomerState, CustomerState]],
        duplicates: list[tuple[str | None, Fact]],
    ) -> None:
        for attempt in range(MAX_ATTEMPTS):
            if ready is not None and all(unit.facts for unit in units):
                plans = ready  # planned a moment ago on the same states
            else:
                units = [unit for unit in units if unit.facts]
                if not units:
                    return
                plans = [self._plan(unit, states, visits) for unit in units]
            ready = None
            if any(_lone(plan.commit) for plan in plans):  # one write each, outside the transaction
                rest = [(unit, plan) for unit, plan in zip(units, plans, strict=True) if not _lone(plan.commit)]
                for unit, plan in zip(units, plans, strict=True):
                    if _lone(plan.commit):
                        self._write_lone(unit, plan, queue, states, visits, result, touched)
                units, plans = [unit for unit, _ in rest], [plan for _, plan in rest]
                if not units:
                    return
            commit = Commit()
            for plan in plans:
                commit.dedupes.update(plan.commit.dedupes)
                commit.visits += plan.commit.visits
                commit.customers += plan.commit.customers
                for key, numbers in plan.commit.deltas.items():
                    _add(commit.deltas, key, numbers)
            commit.deltas = _nonzero(commit.deltas)
            written = [write.key for write in commit.customers]
            if commit.size() > TRANSACTION_ITEMS or len(set(written)) != len(written):
                queue.extendleft(reversed(units[1:]))  # fresh states made it bigger (or two now share a survivor)
                units = units[:1]
                continue
            if commit.size():
                try:
                    self.repository.commit(commit)
                except CommitRejected as rejected:
                    stale = self._absorb(rejected, units, states, visits, result, duplicates)
                    if stale:  # customers changed by a concurrent batch: commit the others now, these later
                        queue.extend(unit for unit in units if unit.customer in stale)
                        units = [unit for unit in units if unit.customer not in stale]
                    if rejected.conflict:  # collided with a concurrent transaction: a smaller commit, a little later
                        half = max(1, len(units) // 2)
                        queue.extendleft(reversed(units[half:]))
                        units = units[:half]
                        self._backoff(attempt)
                    continue
            for unit, plan in zip(units, plans, strict=True):
                self._committed(unit, plan, states, visits, result, touched)
            return
        raise ConcurrentUpdates(f"{sum(len(unit.facts) for unit in units)} events kept colliding")

    def _write_lone(
        self,
        unit: _Unit,
        plan: _Plan,
        queue: deque[_Unit],
        states: dict[str, CustomerState],
        visits: _Visits,
        result: BatchResult,
        touched: dict[str, tuple[CustomerState, CustomerState]],
    ) -> None:
        """A customer's change that moves no counter and counts no event (a visitor's new channel or touch): a
        conditional put of its own, half the write units of a transaction's. Changed meanwhile: it goes back to
        the queue on the fresh state."""
        if self.repository.write_customer(plan.commit.customers[0]):
            self._committed(unit, plan, states, visits, result, touched)
            return
        assert unit.customer is not None
        unit.lone_attempts += 1
        if unit.lone_attempts >= MAX_ATTEMPTS:
            raise ConcurrentUpdates(unit.customer)
        key = states[unit.customer].key
        states[unit.customer] = self._load_all([key])[key]
        queue.append(unit)

    @staticmethod
    def _committed(
        unit: _Unit,
        plan: _Plan,
        states: dict[str, CustomerState],
        visits: _Visits,
        result: BatchResult,
        touched: dict[str, tuple[CustomerState, CustomerState]],
    ) -> None:
        for index, fact in unit.facts:
            if unit.visit is not None or fact.kind not in SESSION_KINDS:  # the visit says for these
                result.outcomes[index] = "counted"
        for write in plan.commit.visits:
            view = visits.views[write.marker]
            room = 0 if write.close else view.room - len(write.events)
            visits.views[write.marker] = replace(view, taken=True, room=room)
        if plan.before is not None and plan.after is not None and plan.after is not plan.before:
            first = touched.get(plan.after.key, (plan.before, plan.after))[0]
            touched[plan.after.key] = (first, plan.after)
            states[plan.after.key] = plan.after
            if unit.customer is not None:
                states[unit.customer] = plan.after

    def _absorb(
        self,
        rejected: CommitRejected,
        units: list[_Unit],
        states: dict[str, CustomerState],
        visits: _Visits,
        result: BatchResult,
        duplicates: list[tuple[str | None, Fact]],
    ) -> set[str]:
        """What a cancelled commit taught: drop the duplicates, re-read the visits that changed (and drop the events
        they now hold), reload changed customers (whose units are returned)."""
        for unit in units:
            kept = []
            for index, fact in unit.facts:
                # a page view stays in its customer's unit: that change is idempotent, and may not be in yet
                if fact.event_id in rejected.duplicates and (unit.visit is not None or fact.kind not in SESSION_KINDS):
                    result.outcomes[index] = "duplicate"
                    duplicates.append((visits.owner.get(fact.event_id, unit.customer), fact))
                else:
                    kept.append((index, fact))
            unit.facts = kept
        changed = [unit for unit in units if unit.visit is not None and unit.visit in rejected.sessions]
        if changed:
            fresh = self.repository.visits(
                {unit.visit: [fact.event_id for _, fact in unit.facts] for unit in changed if unit.visit is not None}
            )
            visits.views.update(fresh)
            for unit in changed:
                self._drop_counted(unit, visits, result, duplicates)
        stale = {
            unit.customer: states[unit.customer].key
            for unit in units
            if unit.customer is not None and states[unit.customer].key in rejected.customers
        }
        if stale:
            fresh_states = self._load_all(sorted(set(stale.values())))
            for customer, key in stale.items():
                states[customer] = fresh_states[key]
        return set(stale)

    def _after_commits(
        self,
        touched: dict[str, tuple[CustomerState, CustomerState]],
        duplicates: list[tuple[str | None, Fact]],
        states: dict[str, CustomerState],
    ) -> None:
        """Distinct customers and lifecycle announcements, once the batch's commits are in. Both are idempotent,
        and a redelivered event repeats them (its customer's set membership, a stage change still pending)."""
        members: dict[tuple[str, str], set[str]] = defaultdict(set)
        added: set[str] = set()
        for before, after in touched.values():
            for entry in after.counted_in - before.counted_in:
                day, _, channel = entry.partition("|")
                members[(day, channel)].add(distinct.member_of(after.key))
                if after.profile_id is None:  # a pending key: its profile may be announced any moment
                    added.add(after.key)
        pending: dict[str, tuple[str | None, CustomerState]] = {}
        for customer, fact in duplicates:
            if customer is None:
                continue
            state = states.get(customer)
            if state is not None and f"{fact.day}|{fact.channel}" in state.counted_in:
                members[(fact.day, fact.channel)].add(distinct.member_of(state.key))
            if state is not None and state.stage_pending:
                pending[state.key] = (None, state)
        if self._distinct is not None:
            for (day, channel), found in members.items():
                self._distinct.add(day, channel, sorted(found))
            self._distinct.pending |= added
        else:
            for (day, channel), found in sorted(members.items()):
                self.repository.add_distinct(day, channel, sorted(found), self.config.distinct_cap)
            self._recheck_folded(added)
        for before, after in touched.values():
            if after.stage_pending:
                pending[after.key] = (before.stage if before.stage != after.stage else None, after)
        self._announce(list(pending.values()))

    def _recheck_folded(self, customer_keys: set[str]) -> None:
        """A pending customer folded into its profile while its members were being added: move what it just
        added to the survivor. (A profile merged into another in that same moment is not checked: rare, and a
        read per batch.)"""
        if not customer_keys:
            return
        records = self.repository.customers(sorted(customer_keys))
        for key, record in records.items():
            state = CustomerState.from_item(key, record)
            if state.merged_into is not None:
                self._move_distinct(state, self.load(state.merged_into).key)

    def _write_distinct(self, writes: _DistinctWrites) -> None:
        """A batch's set changes: per day and channel, the members added (one write per shard), then the members
        taken out; then the pending customers folded meanwhile by a concurrent batch."""
        for (day, channel), changes in sorted(writes.last.items()):
            added = sorted(member for member, present in changes.items() if present)
            removed = sorted(member for member, present in changes.items() if not present)
            if added:
                self.repository.add_distinct(day, channel, added, self.config.distinct_cap)
            if removed:
                self.repository.remove_distinct(day, channel, removed)
        self._recheck_folded(writes.pending - writes.moved)

    def _move_distinct(self, source: CustomerState, target_key: str) -> None:
        old, new = distinct.member_of(source.key), distinct.member_of(target_key)
        for entry in sorted(source.counted_in):
            day, _, channel = entry.partition("|")
            if self._distinct is not None:
                self._distinct.add(day, channel, [new])
                self._distinct.remove(day, channel, [old])
                self._distinct.moved.add(source.key)
            else:
                self.repository.add_distinct(day, channel, [new], self.config.distinct_cap)
                self.repository.remove_distinct(day, channel, [old])

    # ------------------------------------------------------------------ lifecycle
    def _finish(self, before: CustomerState, after: CustomerState, scores_changed: bool) -> CustomerState:
        """Attribution label, lifecycle stage and CLV scores of a customer's new state, and its next version."""
        today = self.today()
        after = replace(after, attribution=self.config.attribution.label, version=before.version + 1)
        if scores_changed:
            after = replace(after, scores=self.scorer(after, today) or after.scores)
        stage = stage_of(after, today, self.config.thresholds)
        stage_value = stage.value if stage else None
        if stage_value != before.stage:
            after = replace(
                after,
                stage=stage_value,
                stage_seq=before.stage_seq + 1,
                stage_pending=stage_value is not None,
                stage_since=today.isoformat(),
            )
        return after

    def _write(self, before: CustomerState, after: CustomerState) -> CustomerWrite:
        review = next_review(after, self.today(), self.config.thresholds)
        return CustomerWrite(
            key=after.key,
            record=after.to_item(),
            expected_version=before.version,
            review_day=review.isoformat() if review else None,
        )

    def _announce(self, changed: Sequence[tuple[str | None, CustomerState]]) -> None:
        """Announces stage changes (one publication for all), then clears each pending flag."""
        if self.sink is None or not changed:
            return
        today = self.today()
        announcements = []
        for previous, state in changed:
            if state.stage is None:
                continue
            figures = rfm(state, today)
            announcements.append(
                LifecycleChanged(
                    event_id=lifecycle_event_id(state.key, state.stage_seq),
                    occurred_at=self.clock(),
                    customer_id=state.key,
                    profile_id=state.profile_id,
                    previous_stage=previous,
                    stage=state.stage,
                    sequence=state.stage_seq,
                    recency_days=figures.recency_days,
                    frequency=figures.frequency,
                    monetary=figures.monetary,
                    currency=self.config.fx.reporting_currency,
                )
            )
        self.sink.announce(announcements)
        for _, state in changed:
            self._clear_pending(state)

    def _clear_pending(self, announced: CustomerState) -> None:
        current = announced
        for _ in range(MAX_ATTEMPTS):
            if not current.stage_pending or current.stage_seq != announced.stage_seq or current.merged_into:
                return
            cleared = replace(current, stage_pending=False, version=current.version + 1)
            if self.repository.write_customer(self._write(current, cleared)):
                return
            record = self.repository.customers([announced.key]).get(announced.key)
            current = CustomerState.from_item(announced.key, record)

    def review(self, through: date | None = None, *, max_days: int = 400) -> int:
        """Re-evaluates the customers whose stage time alone may have changed, up to ``through`` (today)."""
        today = through or self.today()
        job = self.repository.job_state("review")
        start = (
            date.fromisoformat(job["last_day"]) + timedelta(days=1)
            if "last_day" in job
            else today - timedelta(days=max_days)
        )
        changed = 0
        day = start
        while day <= today:
            for key in self.repository.due_for_review(day.isoformat()):
                changed += self._reevaluate(key)
            day += timedelta(days=1)
        self.repository.save_job_state("review", {"last_day": today.isoformat()})
        return changed

    def _reevaluate(self, customer_key: str) -> int:
        """A customer's stage (and scores) today, its aggregates moved with it in the same commit."""
        for attempt in range(MAX_ATTEMPTS):
            before = self.load(customer_key)
            after = self._finish(before, before, scores_changed=bool(before.orders_by_day))
            commit = Commit(customers=[self._write(before, after)], deltas=_nonzero(self._change(before, after)))
            try:
                self.repository.commit(commit)
            except CommitRejected as rejected:
                if rejected.conflict:
                    self._backoff(attempt)
                continue
            if after.stage_pending and after.stage != before.stage:
                self._announce([(before.stage, after)])
                return 1
            return 0
        raise ConcurrentUpdates(customer_key)

    # ------------------------------------------------------------------ identity
    def fold(self, source_key: str, target_key: str) -> bool:
        """Moves ``source``'s whole history into ``target`` and leaves a pointer; False when there was nothing to
        move. Idempotent: a folded source is a pointer, and folding a pointer only repeats the distinct moves."""
        for attempt in range(MAX_ATTEMPTS):
            target = self.load(target_key)
            source = CustomerState.from_item(source_key, self.repository.customers([source_key]).get(source_key))
            if source.merged_into is not None:
                owner = self.load(source.merged_into).key
                self._move_distinct(source, owner)
                if is_pending(source_key) and owner != target.key:  # the identifier moved to another profile
                    moved = replace(source, version=source.version + 1, merged_into=target.key)
                    if not self.repository.write_customer(CustomerWrite(source_key, moved.to_item(), source.version)):
                        continue
                return False
            if target.key == source_key:
                return False
            pointer = CustomerState(
                key=source_key, version=source.version + 1, merged_into=target.key, counted_in=source.counted_in
            )
            pointer_write = CustomerWrite(source_key, pointer.to_item(), expected_version=source.version)
            if not source.channels and not source.orders_by_day and not source.stage:
                if self.repository.write_customer(pointer_write):
                    return False
                continue
            merged = self._finish(target, target.folded_with(source), scores_changed=True)
            change = difference(summed(contributions(source), contributions(target)), contributions(merged))
            change = summed(change, self._movement(source.stage, "merged" if source.stage else None))
            change = summed(change, self._movement(target.stage, merged.stage))
            commit = Commit(customers=[pointer_write, self._write(target, merged)], deltas=_nonzero(change))
            try:
                self.repository.commit(commit)
            except CommitRejected as rejected:
                if rejected.conflict:
                    self._backoff(attempt)
                continue
            self._move_distinct(source, merged.key)
            if merged.stage_pending:
                self._announce([(target.stage if target.stage != merged.stage else None, merged)])
            return True
        raise ConcurrentUpdates(source_key)

    def link(self, profile_id: str, identifiers: Mapping[str, list[str]]) -> int:
        """``profile.created`` / ``profile.updated``: these identifiers are the profile's; what was counted under
        them before the profile was known moves into it. Returns how many pending customers moved."""
        target = profile_customer(profile_id)
        pairs = [(kind, value) for kind, values in sorted(identifiers.items()) for value in values]
        self.repository.set_owners(pairs, target)
        return sum(self.fold(pending_customer(kind, value), target) for kind, value in pairs)

    def merge(self, survivor_id: str, merged_id: str, moved: Mapping[str, list[str]]) -> bool:
        """``profile.merged``: the merged profile's history is the survivor's from now on."""
        folded = self.fold(profile_customer(merged_id), profile_customer(survivor_id))
        self.link(survivor_id, moved)
        return folded

    def erase(self, profile_ids: list[str], identifiers: Mapping[str, list[str]]) -> int:
        """``profile.erased``: deletes the customers' records and identifier map; they leave the lifecycle census.
        The anonymous aggregates they contributed to (counts, sums) stay: they hold no personal data."""
        customers = [profile_customer(profile_id) for profile_id in profile_ids]
        customers += [pending_customer(kind, value) for kind, values in identifiers.items() for value in values]
        records = self.repository.customers(customers)
        for key, record in records.items():
            state = CustomerState.from_item(key, record)
            if state.stage and state.merged_into is None:
                leave = {Aggregate(Kind.CENSUS): {f"stage:{state.stage}": -ONE}}
                change = summed(leave, self._movement(state.stage, "erased"))
                erased = CustomerState(key=key, version=state.version + 1)
                commit = Commit(customers=[CustomerWrite(key, erased.to_item(), state.version)], deltas=change)
                with suppress(CommitRejected):  # changed meanwhile: it is deleted below all the same
                    self.repository.commit(commit)
        pairs = [(kind, value) for kind, values in identifiers.items() for value in values]
        return self.repository.forget(customers, pairs)

    # ------------------------------------------------------------------ spend
    def record_spend(self, day: str, channel: str, campaign: str, value: Any, currency: Any) -> dict[str, Any]:
        """Marketing spend of one day, channel and campaign. Sending the same row again replaces it (so a
        re-import changes nothing); the aggregates get the difference."""
        code = currency_code(currency)
        spent = amount(value, code)
        if spent < 0:
            raise MoneyError(f"amount {value!r} is negative")
        money = self.config.fx.convert(spent, code)
        for _ in range(MAX_ATTEMPTS):
            old = self.repository.spend_row(day, channel, campaign) or {}
            version = int(old.get("version", 0))
            record = {"day": day, "channel": channel, "campaign": campaign, "version": version + 1, **money.as_record()}
            numbers: dict[str, Decimal] = {}
            for row, sign in ((old, -ONE), (record, ONE)):
                for name, number in _spend_numbers(row, sign).items():
                    numbers[name] = numbers.get(name, ZERO) + number
            deltas = _nonzero(
                {
                    Aggregate(Kind.BUCKET, day, channel): numbers,
                    Aggregate(Kind.CAMPAIGN, day, campaign): {
                        name: number for name, number in numbers.items() if name.startswith("spend")
                    },
                }
            )
            if self.repository.replace_spend_row(record, version, deltas):
                return record
        raise ConcurrentUpdates(f"spend {day} {channel} {campaign}")


def _spend_numbers(row: Mapping[str, Any], sign: Decimal) -> dict[str, Decimal]:
    if not row:
        return {}
    code = str(row["currency"])
    native = Decimal(row["amount"]) * sign
    out = {f"spend:{code}": native}
    if "reporting_amount" in row:
        out["spend"] = Decimal(row["reporting_amount"]) * sign
    else:
        out["fx_missing"] = sign
        out[f"spend_unconverted:{code}"] = native
        out[f"{UNCONVERTED_COUNT['spend']}_unconverted:{code}"] = sign
    return out


def _sleep(attempt: int) -> None:
    """A conflict with a concurrent transaction: wait a little, more each time (full jitter)."""
    time.sleep(0.005 * (2 ** min(attempt, 6)) * random.random())  # noqa: S311 - jitter, nothing secret
