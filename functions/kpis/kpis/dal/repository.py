"""The logic's port (:class:`kpis.logic.ports.KpiRepository`) on a KPI store (DynamoDB or in memory): logical
aggregates to table keys, shards, dedupe TTLs, and a cancelled transaction back to what it means.

A visit (``S#<day>`` / ``<channel>#<visitor hash>``) is the session marker, and holds ``ids``: a digest of each
page, screen and store-visit event counted in it (12 characters, 72 bits of SHA-256), up to ``VISIT_CAP`` (an item
under 1 KB: one write unit). A visit with more events is ``closed`` and its further events get dedupe items of
their own; a marker without ``ids`` (as an earlier version wrote it) is closed too, so that an event counted then
and delivered again now is found by its dedupe item.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kpis.dal import keys
from kpis.dal.store import (
    CLOSED,
    CONDITION_FAILED,
    CONFLICT,
    Add,
    AddMembers,
    CloseSet,
    Delete,
    Item,
    KpiStore,
    Operation,
    Put,
    TransactionCancelled,
)
from kpis.logic import distinct as distinct_sets
from kpis.logic.calendar import months_between
from kpis.logic.customer_keys import pending_customer
from kpis.logic.ports import (
    Aggregate,
    Commit,
    CommitRejected,
    CustomerWrite,
    Deltas,
    DistinctSets,
    Kind,
    Rows,
    SessionMarker,
    Visit,
)

DEFAULT_SHARDS = 8
VISIT_CAP = 64  # event digests a visit holds: about 850 bytes with its keys, one write unit
VISIT_IDS = "ids"


def event_digest(event_id: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(event_id.encode()).digest()[:9]).decode()


def _labels(aggregate: Aggregate) -> dict[str, str]:
    """The readable campaign name or source / medium, beside the hash in the key."""
    return {keys.LABEL[aggregate.kind]: aggregate.dimension} if aggregate.kind in keys.LABEL else {}


def _numbers(item: Item) -> dict[str, Decimal]:
    return {
        name: Decimal(value)
        for name, value in item.items()
        if name not in ("pk", "sk") and isinstance(value, Decimal | int) and not isinstance(value, bool)
    }


class StoreRepository:
    def __init__(
        self,
        store: KpiStore,
        *,
        clock: Callable[[], datetime],
        dedupe_days: int = 30,
        visit_days: int = 400,
        shards: int = DEFAULT_SHARDS,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dedupe_days = dedupe_days
        self.visit_days = visit_days
        self.shards = max(1, shards)
        self._rng = rng or random.Random()  # noqa: S311 - spreads writes over shards, nothing secret

    def _expires(self, days: int) -> int:
        return int((self.clock() + timedelta(days=days)).timestamp())

    # ------------------------------------------------------------------ the rollup
    def owners(self, identifiers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """An identifier's owner is where its pending customer points (``merged_into``: the rollup folds it into
        the profile that announces the identifier). An identifier map item (``I#<hash>``, as an earlier version
        wrote one per identifier) wins where there is one: that version did not move the pointer when an
        identifier moved to another profile. Both in one read."""
        legacy = {keys.identifier(kind, value): (kind, value) for kind, value in identifiers}
        pointers = {keys.customer(pending_customer(kind, value)): (kind, value) for kind, value in identifiers}
        found = self.store.get_many([*legacy, *pointers])
        out = {
            pointers[key]: str(item["merged_into"])
            for key, item in found.items()
            if key in pointers and item.get("merged_into")
        }
        out.update({legacy[key]: str(item["customer"]) for key, item in found.items() if key in legacy})
        return out

    def set_owners(self, identifiers: Sequence[tuple[str, str]], customer_key: str) -> None:
        """Only an earlier version's identifier map item that names another customer is rewritten (one read for
        all; none is written otherwise: the pointer is the record)."""
        wanted = [keys.identifier(kind, value) for kind, value in identifiers]
        for key, item in self.store.get_many(wanted).items():
            if item.get("customer") != customer_key:
                self.store.write(Put(key, {"customer": customer_key}))

    def customers(self, customer_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = self.store.get_many([keys.customer(key) for key in customer_keys])
        return {str(item["pk"])[2:]: item for item in found.values()}

    def visits(self, events: Mapping[SessionMarker, Sequence[str]]) -> dict[SessionMarker, Visit]:
        """A closed visit's events it does not hold are looked up by their dedupe items (one more read)."""
        found = self.store.get_many([keys.session(marker) for marker in events])
        out = {}
        elsewhere: dict[SessionMarker, list[str]] = {}
        for marker, event_ids in events.items():
            item = found.get(keys.session(marker))
            if item is None:
                out[marker] = Visit(taken=False, room=VISIT_CAP)
                continue
            held = set(item.get(VISIT_IDS) or ())
            counted = frozenset(event_id for event_id in event_ids if event_digest(event_id) in held)
            is_open = VISIT_IDS in item and CLOSED not in item
            out[marker] = Visit(taken=True, counted=counted, room=max(0, VISIT_CAP - len(held)) if is_open else 0)
            if not is_open:
                elsewhere[marker] = [event_id for event_id in event_ids if event_id not in counted]
        if elsewhere:
            deduped = self.store.get_many([keys.dedupe(event_id) for ids in elsewhere.values() for event_id in ids])
            for marker, event_ids in elsewhere.items():
                more = {event_id for event_id in event_ids if keys.dedupe(event_id) in deduped}
                out[marker] = replace(out[marker], counted=out[marker].counted | more)
        return out

    def _customer_put(self, write: CustomerWrite) -> Put:
        item = dict(write.record)
        if write.review_day is not None:
            item["review_pk"] = keys.review_pk(write.review_day)
            item["review_sk"] = write.key
        return Put(keys.customer(write.key), item, version=write.expected_version)

    def commit(self, commit: Commit) -> None:
        shard = self._rng.randrange(self.shards)
        operations: list[Operation] = []
        meaning: list[tuple[str, Any]] = []
        expires = self._expires(self.dedupe_days)
        for event_id, record in commit.dedupes.items():
            operations.append(Put(keys.dedupe(event_id), {**record, "expires_at": expires}, must_not_exist=True))
            meaning.append(("dedupe", event_id))
        for visit in commit.visits:
            digests = tuple(sorted({event_digest(event_id) for event_id in visit.events}))
            if visit.start:
                item: dict[str, Any] = {"expires_at": self._expires(self.visit_days)}
                if not visit.close:
                    item[VISIT_IDS] = set(digests)
                operations.append(Put(keys.session(visit.marker), item, must_not_exist=True))
            elif visit.close:  # on the condition that it holds what it held when read
                operations.append(CloseSet(keys.session(visit.marker), VISIT_IDS, VISIT_CAP - visit.room))
            else:
                operations.append(AddMembers(keys.session(visit.marker), VISIT_IDS, digests, VISIT_CAP - len(digests)))
            meaning.append(("session", visit.marker))
        for write in commit.customers:
            operations.append(self._customer_put(write))
            meaning.append(("customer", write.key))
        for aggregate, deltas in sorted(commit.deltas.items()):
            numbers = {name: value for name, value in deltas.items() if value}
            if numbers:
                operations.append(Add(keys.aggregate(aggregate, shard), numbers, _labels(aggregate)))
                meaning.append(("aggregate", aggregate))
        try:
            self.store.transact(operations)
        except TransactionCancelled as cancelled:
            raise self._rejected(cancelled, meaning) from cancelled

    @staticmethod
    def _rejected(cancelled: TransactionCancelled, meaning: list[tuple[str, Any]]) -> CommitRejected:
        failed = [meaning[i] for i, reason in enumerate(cancelled.reasons) if reason == CONDITION_FAILED]
        if not failed:
            return CommitRejected(conflict=any(reason == CONFLICT for reason in cancelled.reasons))
        return CommitRejected(
            duplicates={str(what) for kind, what in failed if kind == "dedupe"},
            sessions={what for kind, what in failed if kind == "session"},
            customers={str(what) for kind, what in failed if kind == "customer"},
        )

    def write_customer(self, write: CustomerWrite) -> bool:
        return self.store.write(self._customer_put(write))

    def _member_shard(self, member: str) -> int:
        return int(member[:8], 16) % self.shards

    def add_distinct(self, day: str, channel: str, members: Sequence[str], cap: int) -> None:
        """Each member into its shard's set (by its hash: the union of the shards is the day's set, and a member
        is always in the same one); past a set's cap, into that shard's sketch. One write per shard touched."""
        by_shard: dict[int, list[str]] = defaultdict(list)
        for member in members:
            by_shard[self._member_shard(member)].append(member)
        for shard, found in sorted(by_shard.items()):
            where = keys.distinct(day, channel, shard)
            if self.store.add_members(where, "members", found, cap):
                continue
            registers: dict[str, int] = {}
            for member in found:  # the set is (nearly) full: one by one, and into the sketch past the cap
                if not self.store.add_to_capped_set(where, "members", member, cap):
                    index, rank = distinct_sets.register_of(member)
                    registers[f"h{index}"] = max(rank, registers.get(f"h{index}", 0))
            if registers:
                self.store.raise_registers(where, registers)

    def remove_distinct(self, day: str, channel: str, members: Sequence[str]) -> None:
        """Each member out of its shard's set: one write per shard touched."""
        by_shard: dict[int, list[str]] = defaultdict(list)
        for member in members:
            by_shard[self._member_shard(member)].append(member)
        for shard, found in sorted(by_shard.items()):
            self.store.remove_members(keys.distinct(day, channel, shard), "members", found)

    def forget(self, customer_keys: Sequence[str], identifiers: Sequence[tuple[str, str]]) -> int:
        targets = [keys.customer(key) for key in customer_keys]
        targets += [keys.identifier(kind, value) for kind, value in identifiers]
        for key in targets:
            self.store.write(Delete(key))
        return len(targets)

    # ------------------------------------------------------------------ jobs
    def due_for_review(self, day: str) -> list[str]:
        return [str(item["review_sk"]) for item in self.store.query_review(keys.review_pk(day))]

    def job_state(self, job: str) -> dict[str, Any]:
        return self.store.get(keys.job(job)) or {}

    def save_job_state(self, job: str, state: Mapping[str, Any]) -> None:
        self.store.write(Put(keys.job(job), state))

    def all_customers(self) -> Iterator[dict[str, Any]]:
        return self.store.scan_customers()

    def clv_parameters(self) -> dict[str, Any] | None:
        return self.store.get(keys.CLV_PARAMS)

    def save_clv_parameters(self, day: str, record: Mapping[str, Any]) -> None:
        self.store.write(Put(keys.CLV_PARAMS, record))
        self.store.write(Put(keys.clv_params_history(day), record))

    # ------------------------------------------------------------------ spend
    def spend_row(self, day: str, channel: str, campaign: str) -> dict[str, Any] | None:
        return self.store.get(keys.spend(day, channel, campaign))

    def replace_spend_row(self, record: Mapping[str, Any], expected_version: int, deltas: Deltas) -> bool:
        shard = self._rng.randrange(self.shards)
        operations: list[Operation] = [
            Put(keys.spend(record["day"], record["channel"], record["campaign"]), record, version=expected_version)
        ]
        for aggregate, numbers in sorted(deltas.items()):
            operations.append(Add(keys.aggregate(aggregate, shard), numbers, _labels(aggregate)))
        try:
            self.store.transact(operations)
        except TransactionCancelled:
            return False
        return True

    # ------------------------------------------------------------------ reads
    def read(self, kind: Kind, first: str, last: str) -> list[Rows]:
        sums: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        labels: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for item in self._items(kind, first, last):
            period, dimension = self._where(kind, str(item["sk"]))
            label = keys.LABEL.get(kind)
            if label is not None:
                dimension = str(item.get(label, dimension))
            where = (period, dimension)
            for name, value in _numbers(item).items():
                sums[where][name] += value
            labels[where].update({name: str(value) for name, value in item.items() if name == label})
        return [
            Rows(kind, period, dimension, dict(sums[(period, dimension)]), labels[(period, dimension)])
            for period, dimension in sorted(sums)
        ]

    def _items(self, kind: Kind, first: str, last: str) -> Iterator[Item]:
        if kind in keys.DAY_PREFIX:
            prefix = keys.DAY_PREFIX[kind]
            for month in months_between(first[:7], last[:7]):
                yield from self.store.query(keys.ROLLUP + month, f"{prefix}#{first}", f"{prefix}#{last}#\uffff")
        else:
            partition = keys.FIXED_PARTITION[kind]
            fixed = keys.FIXED_SORT.get(kind)
            low, high = (fixed, fixed) if fixed else (first, last)
            yield from self.store.query(partition, low, f"{high}#\uffff")

    @staticmethod
    def _where(kind: Kind, sort_key: str) -> tuple[str, str]:
        parts = sort_key.split("#")
        if kind in keys.DAY_PREFIX:
            return parts[1], "" if kind is Kind.LIFECYCLE else parts[2]
        return ("" if kind in keys.FIXED_SORT else parts[0]), ""

    def distinct(self, first_day: str, last_day: str) -> list[DistinctSets]:
        out = []
        for month in months_between(first_day[:7], last_day[:7]):
            for item in self.store.query(keys.ROLLUP + month, f"U#{first_day}", f"U#{last_day}#\uffff"):
                _, day, channel = str(item["sk"]).split("#")[:3]
                registers = {
                    int(name[1:]): int(value)
                    for name, value in item.items()
                    if name.startswith("h") and name[1:].isdigit()
                }
                out.append(DistinctSets(day, channel, set(item.get("members") or ()), registers))
        return out
