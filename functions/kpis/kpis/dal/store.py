"""The few table operations the KPI logic needs, as plain values, so the logic runs against DynamoDB or an
in-memory table (tests, the benchmark's million events) unchanged.

- ``Put``: a whole item, optionally on the condition that it does not exist yet or has a given ``version``.
- ``Add``: atomic ``ADD`` of numbers (and ``SET`` of attributes that are only written once), never conditional:
  counters are only ever changed inside a transaction whose conditional dedupe ``Put`` makes them count once.
- ``Delete``.
- ``AddMembers``: add strings to an item's set on the condition that the set exists, is not closed, holds none of
  them and has room for them (``max_size`` before); ``CloseSet``: mark the set closed on the condition that it
  is not and still has ``size`` members (a visit's counted events: see ``kpis.dal.repository``).

A transaction is all or nothing; a failed condition or a conflict with a concurrent transaction cancels it and
:class:`TransactionCancelled` says which operation and why. Every store counts the items it read and wrote (the
benchmark prints them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

Key = tuple[str, str]
Item = dict[str, Any]


@dataclass(frozen=True)
class Put:
    key: Key
    item: Mapping[str, Any]
    must_not_exist: bool = False
    version: int | None = None  # the item must have this version (0: must not exist, or exist without version)


@dataclass(frozen=True)
class Add:
    key: Key
    numbers: Mapping[str, Decimal] = field(default_factory=dict)
    set_once: Mapping[str, Any] = field(default_factory=dict)  # SET attr = if_not_exists(attr, value)


@dataclass(frozen=True)
class Delete:
    key: Key


@dataclass(frozen=True)
class AddMembers:
    key: Key
    attribute: str
    members: tuple[str, ...]
    max_size: int


@dataclass(frozen=True)
class CloseSet:
    key: Key
    attribute: str
    size: int


CLOSED = "closed"  # the attribute CloseSet sets

Operation = Put | Add | Delete | AddMembers | CloseSet


CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"


class TransactionCancelled(Exception):
    """DynamoDB cancelled the transaction: ``reasons[i]`` says why for operation i (``ConditionalCheckFailed``,
    ``TransactionConflict`` with a concurrent transaction on the same item, or None where it was fine)."""

    def __init__(self, reasons: Sequence[str | None]) -> None:
        self.reasons = list(reasons)
        self.failed = [reason == CONDITION_FAILED for reason in self.reasons]
        super().__init__(f"transaction cancelled: {[(i, r) for i, r in enumerate(self.reasons) if r]}")


@dataclass
class Counters:
    items_read: int = 0
    items_written: int = 0
    transactions: int = 0
    calls: int = 0


class KpiStore(Protocol):
    counters: Counters

    def get(self, key: Key) -> Item | None: ...

    def get_many(self, keys: Sequence[Key]) -> dict[Key, Item]: ...

    def transact(self, operations: Sequence[Operation]) -> None: ...

    def write(self, operation: Operation) -> bool:
        """One operation on its own; False when its condition failed."""
        ...

    def add_to_capped_set(self, key: Key, attribute: str, member: str, cap: int) -> bool:
        """Add ``member`` to a string set unless the set already holds ``cap`` members; False if it was full."""
        ...

    def add_members(self, key: Key, attribute: str, members: Sequence[str], cap: int) -> bool:
        """Add ``members`` to a string set unless that would bring it over ``cap`` members; False if so."""
        ...

    def remove_members(self, key: Key, attribute: str, members: Sequence[str]) -> None:
        """Take these members out of the set ``attribute`` (one write)."""
        ...

    def raise_registers(self, key: Key, registers: Mapping[str, int]) -> None:
        """``attribute = max(attribute, value)`` for each (HyperLogLog registers), in one write."""
        ...

    def raise_register(self, key: Key, attribute: str, value: int) -> None:
        """``attribute = max(attribute, value)``, atomically (a HyperLogLog register)."""
        ...

    def query(self, pk: str, sk_from: str, sk_to: str) -> list[Item]:
        """Items of partition ``pk`` with ``sk_from <= sk <= sk_to``, in sort-key order."""
        ...

    def query_review(self, review_pk: str) -> list[Item]:
        """Customers whose lifecycle is due for review on a day (the ``by_review`` index)."""
        ...

    def scan_customers(self) -> Iterator[Item]:
        """Every customer item (the CLV fit's sample)."""
        ...
