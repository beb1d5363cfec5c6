"""The KPI store in memory, with DynamoDB's semantics for what the logic uses (conditional puts, atomic adds,
all-or-nothing transactions, string sets). For unit tests and the benchmark's million events.

Thread-safe. With ``conflicts=True`` it also behaves like DynamoDB under concurrency: a transaction is in flight
for a moment (``hold_seconds``) after its conditions were checked, and another transaction touching one of its
items meanwhile is cancelled with ``TransactionConflict`` on that item. ``writes_per_item`` counts the writes each
item received (the benchmark's hottest item).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

from kpis.dal.store import (
    CLOSED,
    CONDITION_FAILED,
    CONFLICT,
    Add,
    AddMembers,
    CloseSet,
    Counters,
    Delete,
    Item,
    Key,
    Operation,
    Put,
    TransactionCancelled,
)


class MemoryKpiStore:
    def __init__(self, *, conflicts: bool = False, hold_seconds: float = 0.001) -> None:
        self.items: dict[Key, Item] = {}
        self.counters = Counters()
        self.writes_per_item: Counter[Key] = Counter()
        self.conflicts_raised = 0
        self._conflicts = conflicts
        self._hold = hold_seconds
        self._lock = threading.RLock()
        self._in_flight: set[Key] = set()

    def get(self, key: Key) -> Item | None:
        with self._lock:
            self.counters.calls += 1
            item = self.items.get(key)
            if item is not None:
                self.counters.items_read += 1
            return copy.deepcopy(item)

    def get_many(self, keys: Sequence[Key]) -> dict[Key, Item]:
        with self._lock:
            self.counters.calls += 1
            found = {key: copy.deepcopy(self.items[key]) for key in dict.fromkeys(keys) if key in self.items}
            self.counters.items_read += len(found)
            return found

    def _condition_holds(self, operation: Operation) -> bool:
        if isinstance(operation, AddMembers | CloseSet):
            holder = self.items.get(operation.key) or {}
            members = holder.get(operation.attribute)
            if members is None or CLOSED in holder:
                return False
            if isinstance(operation, CloseSet):
                return len(members) == operation.size
            return not members & set(operation.members) and len(members) <= operation.max_size
        if not isinstance(operation, Put):
            return True
        current = self.items.get(operation.key)
        if operation.must_not_exist and current is not None:
            return False
        if operation.version is not None:
            have = int((current or {}).get("version", 0))
            return have == operation.version
        return True

    def _apply(self, operation: Operation) -> None:
        if isinstance(operation, Put):
            item = copy.deepcopy(dict(operation.item))
            self.items[operation.key] = {"pk": operation.key[0], "sk": operation.key[1], **item}
        elif isinstance(operation, CloseSet):
            self.items[operation.key][CLOSED] = True
        elif isinstance(operation, AddMembers):
            item = self.items[operation.key]
            item[operation.attribute] = item[operation.attribute] | set(operation.members)
        elif isinstance(operation, Delete):
            self.items.pop(operation.key, None)
        else:
            self._add(operation)

    def _add(self, operation: Add) -> None:
        item = self.items.setdefault(operation.key, {"pk": operation.key[0], "sk": operation.key[1]})
        for name, value in operation.numbers.items():
            item[name] = item.get(name, Decimal(0)) + Decimal(value)
        for name, value in operation.set_once.items():
            item.setdefault(name, value)

    def transact(self, operations: Sequence[Operation]) -> None:
        keys = [operation.key for operation in operations]
        if len(set(keys)) != len(keys):
            raise ValueError("a transaction cannot include several operations on one item")
        with self._lock:
            self.counters.calls += 1
            self.counters.transactions += 1
            busy = [key in self._in_flight for key in keys]
            if any(busy):
                self.conflicts_raised += 1
                raise TransactionCancelled([CONFLICT if hit else None for hit in busy])
            failed = [not self._condition_holds(operation) for operation in operations]
            if any(failed):
                raise TransactionCancelled([CONDITION_FAILED if hit else None for hit in failed])
            if self._conflicts:
                self._in_flight.update(keys)
        if self._conflicts:
            time.sleep(self._hold)  # in flight: a concurrent transaction on these items is cancelled
        with self._lock:
            for operation in operations:
                self._apply(operation)
                self.writes_per_item[operation.key] += 1
            self._in_flight.difference_update(keys)
            self.counters.items_written += len(operations)

    def write(self, operation: Operation) -> bool:
        with self._lock:
            self.counters.calls += 1
            if not self._condition_holds(operation):
                return False
            self._apply(operation)
            self.writes_per_item[operation.key] += 1
            self.counters.items_written += 1
            return True

    def add_to_capped_set(self, key: Key, attribute: str, member: str, cap: int) -> bool:
        with self._lock:
            return self._add_to_capped_set(key, attribute, member, cap)

    def _add_to_capped_set(self, key: Key, attribute: str, member: str, cap: int) -> bool:
        self.counters.calls += 1
        item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
        members: set[str] = item.setdefault(attribute, set())
        if member in members:
            return True
        if len(members) >= cap:
            return False
        members.add(member)
        self.writes_per_item[key] += 1
        self.counters.items_written += 1
        return True

    def add_members(self, key: Key, attribute: str, members: Sequence[str], cap: int) -> bool:
        with self._lock:
            self.counters.calls += 1
            item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
            current: set[str] = item.setdefault(attribute, set())
            if len(current) > cap - len(set(members)):
                return False
            current.update(members)
            self.writes_per_item[key] += 1
            self.counters.items_written += 1
            return True

    def remove_members(self, key: Key, attribute: str, members: Sequence[str]) -> None:
        with self._lock:
            self.counters.calls += 1
            item = self.items.get(key)
            if item is not None:
                item.get(attribute, set()).difference_update(members)
            self.writes_per_item[key] += 1
            self.counters.items_written += 1

    def raise_registers(self, key: Key, registers: Mapping[str, int]) -> None:
        with self._lock:
            self.counters.calls += 1
            item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
            higher = {name: value for name, value in registers.items() if int(item.get(name, 0)) < value}
            if higher:
                item.update({name: Decimal(value) for name, value in higher.items()})
                self.writes_per_item[key] += 1
                self.counters.items_written += 1

    def raise_register(self, key: Key, attribute: str, value: int) -> None:
        with self._lock:
            self.counters.calls += 1
            item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
            if int(item.get(attribute, 0)) < value:
                item[attribute] = Decimal(value)
                self.writes_per_item[key] += 1
                self.counters.items_written += 1

    def query(self, pk: str, sk_from: str, sk_to: str) -> list[Item]:
        with self._lock:
            self.counters.calls += 1
            found = [
                copy.deepcopy(item) for (p, s), item in sorted(self.items.items()) if p == pk and sk_from <= s <= sk_to
            ]
            self.counters.items_read += len(found)
            return found

    def query_review(self, review_pk: str) -> list[Item]:
        self.counters.calls += 1
        found = [copy.deepcopy(item) for item in self.items.values() if item.get("review_pk") == review_pk]
        self.counters.items_read += len(found)
        return found

    def scan_customers(self) -> Iterator[Item]:
        for (pk, sk), item in sorted(self.items.items()):
            if pk.startswith("C#") and sk == "C" and not item.get("merged_into"):
                self.counters.items_read += 1
                yield copy.deepcopy(item)
