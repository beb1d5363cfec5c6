"""The KPI store in memory, with DynamoDB's semantics for what the logic uses (conditional puts, atomic adds,
all-or-nothing transactions, string sets). For unit tests and the benchmark's million events."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from decimal import Decimal

from kpis.dal.store import Add, Counters, Delete, Item, Key, Operation, Put, TransactionCancelled


class MemoryKpiStore:
    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self.counters = Counters()

    def get(self, key: Key) -> Item | None:
        self.counters.calls += 1
        item = self.items.get(key)
        if item is not None:
            self.counters.items_read += 1
        return copy.deepcopy(item)

    def get_many(self, keys: Sequence[Key]) -> dict[Key, Item]:
        self.counters.calls += 1
        found = {key: copy.deepcopy(self.items[key]) for key in dict.fromkeys(keys) if key in self.items}
        self.counters.items_read += len(found)
        return found

    def _condition_holds(self, operation: Operation) -> bool:
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
            self.items[operation.key] = {"pk": operation.key[0], "sk": operation.key[1], **operation.item}
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
        self.counters.calls += 1
        self.counters.transactions += 1
        failed = [not self._condition_holds(operation) for operation in operations]
        if any(failed):
            raise TransactionCancelled(failed)
        for operation in operations:
            self._apply(operation)
        self.counters.items_written += len(operations)

    def write(self, operation: Operation) -> bool:
        self.counters.calls += 1
        if not self._condition_holds(operation):
            return False
        self._apply(operation)
        self.counters.items_written += 1
        return True

    def add_to_capped_set(self, key: Key, attribute: str, member: str, cap: int) -> bool:
        self.counters.calls += 1
        item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
        members: set[str] = item.setdefault(attribute, set())
        if member in members:
            return True
        if len(members) >= cap:
            return False
        members.add(member)
        self.counters.items_written += 1
        return True

    def raise_register(self, key: Key, attribute: str, value: int) -> None:
        self.counters.calls += 1
        item = self.items.setdefault(key, {"pk": key[0], "sk": key[1]})
        if int(item.get(attribute, 0)) < value:
            item[attribute] = Decimal(value)
            self.counters.items_written += 1

    def query(self, pk: str, sk_from: str, sk_to: str) -> list[Item]:
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
