"""Rolls facts up into the KPI table, exactly once each, and keeps each customer's totals and lifecycle stage.

Per event: one ``TransactWriteItems`` holding the conditional dedupe item (keyed by ``event_id``), the counters
of the event's day-and-channel bucket, the change of the customer-level aggregates (``after - before`` of the
customer's contributions) and the customer's new state (on the condition that its version is the one read). A
redelivered event fails the dedupe condition and changes nothing; a concurrent change of the same customer fails
the version condition and the event is applied again on the fresh state. Distinct customers are counted before
the transaction (idempotent on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kpis.dal import keys
from kpis.dal.store import Add, Delete, KpiStore, Operation, Put, TransactionCancelled
from kpis.logic import distinct
from kpis.logic.customer import (
    AttributionSettings,
    Contributions,
    CustomerState,
    contributions,
    difference,
)
from kpis.logic.facts import SESSION_KINDS, Fact, FactKind
from kpis.logic.lifecycle import LifecycleThresholds, next_review, rfm, stage_of
from kpis.logic.money import FxRates, amount, currency_code
from omnichannel.kpi_events import LifecycleChanged, lifecycle_event_id

# Which identifier names the customer when several are known and no profile holds any yet.
PRECEDENCE = (
    "user_id", "email", "phone", "loyalty_card", "pos_customer", "whatsapp", "messenger", "instagram",
    "device_id", "anonymous_id",
)  # fmt: skip
MAX_ATTEMPTS = 10
MAX_POINTER_HOPS = 16
ZERO = Decimal(0)


@dataclass(frozen=True)
class RollupConfig:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Istanbul"))
    fx: FxRates = field(default_factory=lambda: FxRates("TRY", {}))
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    thresholds: LifecycleThresholds = field(default_factory=LifecycleThresholds)
    dedupe_days: int = 400
    distinct_cap: int = distinct.DEFAULT_CAP


class LifecycleSink(Protocol):
    def announce(self, change: LifecycleChanged) -> None: ...


Scorer = Callable[[CustomerState, date], dict[str, Any]]


def no_scores(state: CustomerState, today: date) -> dict[str, Any]:
    return {}


class ConcurrentUpdates(RuntimeError):
    """The same customer kept changing under us (retried MAX_ATTEMPTS times); the event is retried as a whole."""


def _summed(*parts: Contributions) -> Contributions:
    return difference({}, _merge_all(parts))


def _merge_all(parts: tuple[Contributions, ...]) -> Contributions:
    out: Contributions = {}
    for part in parts:
        for key, numbers in part.items():
            bucket = out.setdefault(key, {})
            for name, value in numbers.items():
                bucket[name] = bucket.get(name, ZERO) + value
    return out


class RollupService:
    def __init__(
        self,
        store: KpiStore,
        config: RollupConfig,
        clock: Callable[[], datetime],
        sink: LifecycleSink | None = None,
        scorer: Scorer = no_scores,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.sink = sink
        self.scorer = scorer

    # ------------------------------------------------------------------ helpers
    def today(self) -> date:
        return self.clock().astimezone(self.config.zone).date()

    def _expires(self) -> int:
        return int((self.clock() + timedelta(days=self.config.dedupe_days)).timestamp())

    def resolve(self, identifiers: Mapping[str, str]) -> str:
        """The customer key of an event: the profile holding one of its identifiers (by precedence), else the
        pending key of its strongest identifier."""
        present = [(kind, identifiers[kind]) for kind in PRECEDENCE if identifiers.get(kind)]
        present += sorted((kind, value) for kind, value in identifiers.items() if kind not in PRECEDENCE and value)
        if not present:
            raise ValueError("the event carries no identifier")
        found = self.store.get_many([keys.identifier(kind, value) for kind, value in present])
        for kind, value in present:
            item = found.get(keys.identifier(kind, value))
            if item is not None:
                return str(item["customer"])
        return keys.pending_customer(*present[0])

    def load(self, customer_key: str) -> CustomerState:
        """The customer's state, following merge pointers to the survivor."""
        current = customer_key
        for _ in range(MAX_POINTER_HOPS):
            state = CustomerState.from_item(current, self.store.get(keys.customer(current)))
            if state.merged_into is None:
                return state
            current = state.merged_into
        raise RuntimeError(f"merge pointers of {customer_key} go deeper than {MAX_POINTER_HOPS}")

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
                stage_pending=True,
                stage_since=today.isoformat(),
            )
        return after

    def _customer_put(self, before: CustomerState, after: CustomerState) -> Put:
        item = after.to_item()
        review = next_review(after, self.today(), self.config.thresholds)
        if review is not None:
            item["review_pk"] = keys.review_pk(review.isoformat())
            item["review_sk"] = after.key
        return Put(keys.customer(after.key), item, version=before.version)

    @staticmethod
    def _adds(changes: Contributions) -> list[Operation]:
        return [Add(key, numbers) for key, numbers in sorted(changes.items()) if numbers]

    # ------------------------------------------------------------------ events
    def record(self, fact: Fact) -> bool:
        """Counts one fact; False when it had been counted already."""
        dedupe = Put(
            keys.dedupe(fact.event_id),
            {"kind": fact.kind.value, "day": fact.day, "channel": fact.channel, "expires_at": self._expires(),
             **({"conversion": fact.conversion_record()} if fact.money else {})},
            must_not_exist=True,
        )  # fmt: skip
        bucket = keys.bucket(fact.day, fact.channel)
        if fact.kind is FactKind.RECOVERED:
            try:
                self.store.transact([dedupe, Add(bucket, fact.counters())])
            except TransactionCancelled:
                return False
            return True

        customer_key = self.resolve(fact.identifiers)
        count_session = fact.kind in SESSION_KINDS
        for _ in range(MAX_ATTEMPTS):
            before = self.load(customer_key)
            self._count_distinct(fact.day, fact.channel, before.key)
            changed = before.with_fact(fact)
            operations: list[Operation] = [dedupe]
            counters = fact.counters()
            session_index = None
            if count_session:
                session_index = len(operations)
                visitor = keys.hashed(fact.visitor or before.key)
                operations.append(
                    Put(
                        keys.session(fact.day, fact.channel, visitor),
                        {"expires_at": self._expires()},
                        must_not_exist=True,
                    )
                )
                counters["sessions"] = Decimal(1)
            changes: Contributions = {bucket: counters}
            customer_index = None
            if changed.to_item() != before.to_item() or before.attribution != self.config.attribution.label:
                after = self._finish(before, changed, fact.kind in (FactKind.ORDER, FactKind.REFUND))
                changes = _summed(changes, difference(contributions(before), contributions(after)))
                customer_index = len(operations)
                operations.append(self._customer_put(before, after))
            else:
                after = before
            operations += self._adds(changes)
            try:
                self.store.transact(operations)
            except TransactionCancelled as cancelled:
                if cancelled.failed[0]:
                    self._announce_pending(before.key)
                    return False
                if session_index is not None and cancelled.failed[session_index]:
                    count_session = False
                continue
            if customer_index is not None and after.stage_pending:
                self._announce(before, after)
            return True
        raise ConcurrentUpdates(fact.event_id)

    def _count_distinct(self, day: str, channel: str, customer_key: str) -> None:
        member = distinct.member_of(customer_key)
        where = keys.distinct(day, channel)
        if not self.store.add_to_capped_set(where, "members", member, self.config.distinct_cap):
            index, rank = distinct.register_of(member)
            self.store.raise_register(where, f"h{index}", rank)

    # ------------------------------------------------------------------ lifecycle
    def _announce(self, before: CustomerState | None, after: CustomerState) -> None:
        if self.sink is None or after.stage is None:
            return
        figures = rfm(after, self.today())
        previous = before.stage if before is not None and before.stage != after.stage else None
        self.sink.announce(
            LifecycleChanged(
                event_id=lifecycle_event_id(after.key, after.stage_seq),
                occurred_at=self.clock(),
                customer_id=after.key,
                profile_id=after.profile_id,
                previous_stage=previous,
                stage=after.stage,
                sequence=after.stage_seq,
                recency_days=figures.recency_days,
                frequency=figures.frequency,
                monetary=figures.monetary,
                currency=self.config.fx.reporting_currency,
            )
        )
        current = self.load(after.key)
        if current.stage_pending and current.stage_seq == after.stage_seq:
            cleared = replace(current, stage_pending=False, version=current.version + 1)
            self.store.write(self._customer_put(current, cleared))

    def _announce_pending(self, customer_key: str) -> None:
        """A redelivered event: announce a stage change whose announcement may have failed the first time."""
        state = self.load(customer_key)
        if state.stage_pending:
            self._announce(None, state)

    def review(self, through: date | None = None, *, max_days: int = 400) -> int:
        """Re-evaluates the customers whose stage time alone may have changed, up to ``through`` (today)."""
        today = through or self.today()
        job = self.store.get(keys.REVIEW_JOB) or {}
        start = (
            date.fromisoformat(job["last_day"]) + timedelta(days=1)
            if "last_day" in job
            else today - timedelta(days=max_days)
        )
        changed = 0
        day = start
        while day <= today:
            for item in self.store.query_review(keys.review_pk(day.isoformat())):
                changed += self._reevaluate(str(item["customer"]))
            day += timedelta(days=1)
        self.store.write(Put(keys.REVIEW_JOB, {"last_day": today.isoformat()}))
        return changed

    def _reevaluate(self, customer_key: str) -> int:
        for _ in range(MAX_ATTEMPTS):
            before = self.load(customer_key)
            after = self._finish(before, before, scores_changed=bool(before.orders_by_day))
            if not self.store.write(self._customer_put(before, after)):
                continue
            if after.stage_pending:
                self._announce(before, after)
                return 1
            return 0
        raise ConcurrentUpdates(customer_key)

    # ------------------------------------------------------------------ identity
    def fold(self, source_key: str, target_key: str) -> bool:
        """Moves ``source``'s whole history into ``target`` and leaves a pointer; False when there was nothing to
        move. Idempotent: a folded source is a pointer, and folding a pointer does nothing."""
        for _ in range(MAX_ATTEMPTS):
            target = self.load(target_key)
            source = CustomerState.from_item(source_key, self.store.get(keys.customer(source_key)))
            if source.merged_into is not None or target.key == source_key:
                return False
            pointer = CustomerState(key=source_key, version=source.version + 1, merged_into=target.key)
            pointer_put = Put(keys.customer(source_key), pointer.to_item(), version=source.version)
            if not source.orders_by_day and not source.channels and not source.touches:
                if self.store.write(pointer_put):
                    return False
                continue
            merged = self._finish(target, target.folded_with(source), scores_changed=True)
            changes = difference(_summed(contributions(source), contributions(target)), contributions(merged))
            try:
                self.store.transact([pointer_put, self._customer_put(target, merged), *self._adds(changes)])
            except TransactionCancelled:
                continue
            if merged.stage_pending:
                self._announce(target, merged)
            return True
        raise ConcurrentUpdates(source_key)

    def link(self, profile_id: str, identifiers: Mapping[str, list[str]]) -> int:
        """``profile.created`` / ``profile.updated``: these identifiers are the profile's; what was counted under
        them before the profile was known moves into it. Returns how many pending customers moved."""
        target = keys.profile_customer(profile_id)
        moved = 0
        for kind, values in sorted(identifiers.items()):
            for value in values:
                self.store.write(Put(keys.identifier(kind, value), {"customer": target}))
                moved += self.fold(keys.pending_customer(kind, value), target)
        return moved

    def merge(self, survivor_id: str, merged_id: str, moved: Mapping[str, list[str]]) -> bool:
        """``profile.merged``: the merged profile's history is the survivor's from now on."""
        folded = self.fold(keys.profile_customer(merged_id), keys.profile_customer(survivor_id))
        self.link(survivor_id, moved)
        return folded

    def erase(self, profile_ids: list[str], identifiers: Mapping[str, list[str]]) -> int:
        """``profile.erased``: deletes the customers' records and identifier map. The anonymous aggregates they
        contributed to (counts, sums) stay: they hold no personal data."""
        targets = [keys.customer(keys.profile_customer(profile_id)) for profile_id in profile_ids]
        for kind, values in identifiers.items():
            for value in values:
                targets.append(keys.identifier(kind, value))
                targets.append(keys.customer(keys.pending_customer(kind, value)))
        for key in targets:
            self.store.write(Delete(key))
        return len(targets)

    # ------------------------------------------------------------------ spend
    def record_spend(self, day: str, channel: str, campaign: str, value: Any, currency: Any) -> dict[str, Any]:
        """Marketing spend of one day, channel and campaign. Sending the same row again replaces it (so a
        re-import changes nothing); the bucket gets the difference."""
        code = currency_code(currency)
        money = self.config.fx.convert(amount(value, code), code)
        key = keys.spend(day, channel, campaign)
        for _ in range(MAX_ATTEMPTS):
            old = self.store.get(key) or {}
            version = int(old.get("version", 0))
            record = {"day": day, "channel": channel, "campaign": campaign, "version": version + 1, **money.as_record()}
            changes: dict[str, Decimal] = {}
            if old:
                changes[f"spend:{old['currency']}"] = -Decimal(old["amount"])
                if "reporting_amount" in old:
                    changes["spend"] = -Decimal(old["reporting_amount"])
                else:
                    changes["fx_missing"] = Decimal(-1)
            changes[f"spend:{code}"] = changes.get(f"spend:{code}", ZERO) + money.amount
            if money.reporting_amount is None:
                changes["fx_missing"] = changes.get("fx_missing", ZERO) + 1
            else:
                changes["spend"] = changes.get("spend", ZERO) + money.reporting_amount
            numbers = {name: number for name, number in changes.items() if number}
            operations: list[Operation] = [Put(key, record, version=version)]
            if numbers:
                operations.append(Add(keys.bucket(day, channel), numbers))
            try:
                self.store.transact(operations)
            except TransactionCancelled:
                continue
            return record
        raise ConcurrentUpdates(f"spend {day} {channel} {campaign}")
