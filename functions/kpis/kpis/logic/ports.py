"""What the KPI logic needs from storage, in its own terms (the port); ``kpis.dal.repository`` implements it on
DynamoDB or in memory. Nothing here knows a table key, a shard or boto3.

The logic names an aggregate by what it counts (:class:`Aggregate`: the bucket of a day and channel, the cohort of
a month ...); the repository decides where it lives (hot counters are sharded and summed on read). A
:class:`Commit` is all or nothing: the dedupe records of its events, the visits it writes (a visitor's day on a
channel: its session, and the page, screen and store-visit events counted in it), the customers it rewrites (each
on the condition that its version is the one read) and the counter deltas they cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class Kind(StrEnum):
    BUCKET = "bucket"  # a business day and channel
    CREDITS = "credits"  # attribution credits of new customers, a day and channel, every model and lookback
    CAMPAIGN = "campaign"  # a day and campaign name (utm_campaign)
    SOURCE = "source"  # a day and "source / medium" (utm_source, utm_medium)
    LIFECYCLE = "lifecycle"  # a day's lifecycle stage movements
    COHORT = "cohort"  # a first-purchase month
    MONTHLY = "monthly"  # a year's monthly active / retained customers
    TOTALS = "totals"  # all-time customer figures
    CENSUS = "census"  # customers per lifecycle stage now


class Aggregate(NamedTuple):
    kind: Kind
    period: str = ""  # day, month or year
    dimension: str = ""  # channel, campaign, "source / medium"


Numbers = dict[str, Decimal]
Deltas = dict[Aggregate, Numbers]


class SessionMarker(NamedTuple):
    day: str
    channel: str
    visitor: str  # hashed


@dataclass(frozen=True)
class Visit:
    """A visitor's day on a channel as stored: whether its session was counted (``taken``), which of the events
    asked about it counted already (``counted``), and how many more events it can hold (``room``; 0: it holds no
    more, and the events it does not hold are deduplicated one by one)."""

    taken: bool = False
    counted: frozenset[str] = frozenset()
    room: int = 0


@dataclass(frozen=True)
class VisitWrite:
    """Counts ``events`` (page, screen, store-visit event ids) in a visit, on the condition that it holds none of
    them yet: ``start`` creates it (its session counts; condition: it does not exist), else they are added to it
    (condition: it has room). ``close``: too many for it; it takes no more events from now on, and these events
    are deduplicated one by one (the commit holds their dedupe records)."""

    marker: SessionMarker
    events: tuple[str, ...]
    start: bool
    close: bool = False
    room: int = 0  # the visit's room when read (closing it is conditional on its being unchanged since)


@dataclass(frozen=True)
class CustomerWrite:
    key: str
    record: Mapping[str, Any]
    expected_version: int
    review_day: str | None = None  # the day the lifecycle stage is next due for review


@dataclass
class Commit:
    dedupes: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # event_id -> what was counted
    visits: list[VisitWrite] = field(default_factory=list)
    customers: list[CustomerWrite] = field(default_factory=list)
    deltas: Deltas = field(default_factory=dict)

    def size(self) -> int:
        """Items the commit writes (DynamoDB allows 100 per transaction)."""
        return len(self.dedupes) + len(self.visits) + len(self.customers) + len(self.deltas)


class CommitRejected(Exception):
    """A condition failed: these events were counted already, these visits changed, these customers changed.

    ``conflict`` is True when nothing failed but the transaction collided with another one (retry it)."""

    def __init__(
        self,
        duplicates: set[str] | None = None,
        sessions: set[SessionMarker] | None = None,
        customers: set[str] | None = None,
        *,
        conflict: bool = False,
    ) -> None:
        self.duplicates = duplicates or set()
        self.sessions = sessions or set()
        self.customers = customers or set()
        self.conflict = conflict
        super().__init__(
            f"commit rejected: {len(self.duplicates)} duplicates, {len(self.sessions)} visits changed, "
            f"{len(self.customers)} customers changed, conflict={conflict}"
        )


class Rows(NamedTuple):
    """Counters of one aggregate item as read (shards summed by the reader)."""

    kind: Kind
    period: str
    dimension: str
    numbers: Numbers
    labels: dict[str, str]


class DistinctSets(NamedTuple):
    day: str
    channel: str
    members: set[str]
    registers: dict[int, int]


class KpiRepository(Protocol):
    # ---- the rollup
    def owners(self, identifiers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The customer key each known identifier belongs to."""
        ...

    def set_owners(self, identifiers: Sequence[tuple[str, str]], customer_key: str) -> None:
        """These identifiers are this customer's. (What records it is the pointer :meth:`RollupService.fold` leaves
        on each identifier's pending customer; this only brings what an earlier version recorded apart in line.)"""
        ...

    def customers(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored records of these customers (absent ones are left out)."""
        ...

    def visits(self, events: Mapping[SessionMarker, Sequence[str]]) -> dict[SessionMarker, Visit]:
        """Each visit as stored, and which of these event ids it counted already."""
        ...

    def commit(self, commit: Commit) -> None:
        """All or nothing; raises :class:`CommitRejected`."""
        ...

    def write_customer(self, write: CustomerWrite) -> bool:
        """One customer on its own (its version condition); False when the condition failed."""
        ...

    def add_distinct(self, day: str, channel: str, members: Sequence[str], cap: int) -> None:
        """Add hashed customers to a day-and-channel's distinct set (a sketch once it holds ``cap``)."""
        ...

    def remove_distinct(self, day: str, channel: str, members: Sequence[str]) -> None:
        """Take hashed customers out of a day-and-channel's distinct set (a sketch keeps what it counted)."""
        ...

    def forget(self, customer_keys: Sequence[str], identifiers: Sequence[tuple[str, str]]) -> int:
        """Erasure: delete these customers' records and identifier mappings; how many items went."""
        ...

    # ---- jobs
    def due_for_review(self, day: str) -> list[str]: ...

    def job_state(self, job: str) -> dict[str, Any]: ...

    def save_job_state(self, job: str, state: Mapping[str, Any]) -> None: ...

    def all_customers(self) -> Iterator[dict[str, Any]]: ...

    def clv_parameters(self) -> dict[str, Any] | None: ...

    def save_clv_parameters(self, day: str, record: Mapping[str, Any]) -> None: ...

    # ---- spend (a row sent again replaces itself)
    def spend_row(self, day: str, channel: str, campaign: str) -> dict[str, Any] | None: ...

    def replace_spend_row(self, record: Mapping[str, Any], expected_version: int, deltas: Deltas) -> bool: ...

    # ---- reads
    def read(self, kind: Kind, first: str, last: str) -> list[Rows]:
        """Aggregates of one kind whose period lies in ``[first, last]`` (days, months or years as the kind
        has them), shards summed."""
        ...

    def distinct(self, first_day: str, last_day: str) -> list[DistinctSets]: ...


__all__ = [
    "Aggregate",
    "Commit",
    "CommitRejected",
    "CustomerWrite",
    "Deltas",
    "DistinctSets",
    "Kind",
    "KpiRepository",
    "Numbers",
    "Rows",
    "SessionMarker",
    "Visit",
    "VisitWrite",
]
