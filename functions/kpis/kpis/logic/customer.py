"""One customer's running totals, and what they contribute to the customer-level aggregates.

The state is a pure function of the customer's events, whatever order they came in: sums, sets and minima
(``days`` holds the orders and gross revenue per purchase day; the first order is the earliest by event time).
The customer-level aggregates (new customers and their attribution, lead conversions, cohorts, monthly
retention, repeat and cross-channel figures) are a function of that state: :func:`contributions`. A change of
state (an order, a late earlier order, a merge) is applied to the aggregates as ``after - before``, so every
aggregate always equals what the customers' current states say, and a merge moves a customer's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kpis.dal import keys
from kpis.dal.store import Key
from kpis.logic.attribution import AttributionModel, credits
from kpis.logic.calendar import month_of, previous_month
from kpis.logic.facts import TOUCH_KINDS, Fact, FactKind

ZERO = Decimal(0)
ONE = Decimal(1)
Contributions = dict[Key, dict[str, Decimal]]


@dataclass(frozen=True)
class AttributionSettings:
    model: AttributionModel = AttributionModel.LAST_TOUCH
    lookback_days: int = 30

    @property
    def label(self) -> str:
        return f"{self.model.value}:{self.lookback_days}"

    @classmethod
    def from_label(cls, label: str) -> AttributionSettings:
        model, _, lookback = label.partition(":")
        return cls(AttributionModel(model), int(lookback))


@dataclass(frozen=True)
class CustomerState:
    key: str
    version: int = 0
    merged_into: str | None = None
    orders_by_day: dict[str, int] = field(default_factory=dict)
    gross_by_day: dict[str, Decimal] = field(default_factory=dict)
    first_order_at: str | None = None  # ISO UTC
    first_order_day: str | None = None
    first_order_channel: str | None = None
    refunds: int = 0
    refunded: Decimal = ZERO
    channels: frozenset[str] = frozenset()
    touches: frozenset[str] = frozenset()
    lead_day: str | None = None
    lead_channel: str | None = None
    signup_day: str | None = None
    attribution: str | None = None  # the settings label its contributions were made under
    stage: str | None = None
    stage_seq: int = 0
    stage_pending: bool = False
    stage_since: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ figures
    @property
    def orders(self) -> int:
        return sum(self.orders_by_day.values())

    @property
    def gross(self) -> Decimal:
        return sum(self.gross_by_day.values(), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded

    @property
    def last_order_day(self) -> str | None:
        return max(self.orders_by_day) if self.orders_by_day else None

    @property
    def profile_id(self) -> str | None:
        return self.key[2:] if self.key.startswith("p-") else None

    def active_months(self) -> set[str]:
        return {month_of(day) for day in self.orders_by_day}

    def rfm_inputs(self, today: date) -> tuple[int, float, float, Decimal]:
        """BG/NBD's customer summary in days: x = repeat purchase days (the first excluded), t_x = first to last
        purchase day, T = first purchase day to today, and the mean spend of the repeat purchase days."""
        days = sorted(self.orders_by_day)
        if not days:
            return 0, 0.0, 0.0, ZERO
        first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
        x = len(days) - 1
        repeat_spend = sum((self.gross_by_day[day] for day in days[1:]), ZERO)
        mean = (repeat_spend / x).quantize(Decimal("0.01")) if x else ZERO
        return x, float((last - first).days), float(max((today - first).days, (last - first).days)), mean

    # ------------------------------------------------------------------ changes
    def with_fact(self, fact: Fact) -> CustomerState:
        channels = self.channels | {fact.channel}
        touches = self.touches | {f"{fact.day}|{fact.channel}"} if fact.kind in TOUCH_KINDS else self.touches
        state = replace(self, channels=frozenset(channels), touches=frozenset(touches))
        if fact.kind is FactKind.ORDER:
            at = fact.occurred_at.isoformat()
            earlier = state.first_order_at is None or (at, fact.channel) < (
                state.first_order_at,
                state.first_order_channel or "",
            )
            state = replace(
                state,
                orders_by_day={**state.orders_by_day, fact.day: state.orders_by_day.get(fact.day, 0) + 1},
                gross_by_day={
                    **state.gross_by_day,
                    fact.day: state.gross_by_day.get(fact.day, ZERO) + fact.reporting_amount,
                },
            )
            if earlier:
                state = replace(state, first_order_at=at, first_order_day=fact.day, first_order_channel=fact.channel)
        elif fact.kind is FactKind.REFUND:
            state = replace(state, refunds=state.refunds + 1, refunded=state.refunded + fact.reporting_amount)
        elif fact.kind is FactKind.LEAD and (
            state.lead_day is None or (fact.day, fact.channel) < (state.lead_day, state.lead_channel or "")
        ):
            state = replace(state, lead_day=fact.day, lead_channel=fact.channel)
        elif fact.kind is FactKind.SIGNUP and (state.signup_day is None or fact.day < state.signup_day):
            state = replace(state, signup_day=fact.day)
        return state

    def folded_with(self, other: CustomerState) -> CustomerState:
        """This customer with ``other``'s history added (a merge): sums, unions and minima."""
        orders = dict(self.orders_by_day)
        gross = dict(self.gross_by_day)
        for day, count in other.orders_by_day.items():
            orders[day] = orders.get(day, 0) + count
            gross[day] = gross.get(day, ZERO) + other.gross_by_day.get(day, ZERO)
        firsts = [
            (state.first_order_at, state.first_order_channel or "", state.first_order_day)
            for state in (self, other)
            if state.first_order_at is not None
        ]
        first = min(firsts) if firsts else (None, None, None)
        leads = [(state.lead_day, state.lead_channel or "") for state in (self, other) if state.lead_day]
        lead = min(leads) if leads else (None, None)
        signups = [state.signup_day for state in (self, other) if state.signup_day]
        return replace(
            self,
            orders_by_day=orders,
            gross_by_day=gross,
            first_order_at=first[0],
            first_order_channel=first[1] or None,
            first_order_day=first[2],
            refunds=self.refunds + other.refunds,
            refunded=self.refunded + other.refunded,
            channels=self.channels | other.channels,
            touches=self.touches | other.touches,
            lead_day=lead[0],
            lead_channel=lead[1] or None,
            signup_day=min(signups) if signups else None,
        )

    # ------------------------------------------------------------------ storage
    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "customer": self.key,
            "version": self.version,
            "orders_by_day": {day: Decimal(count) for day, count in self.orders_by_day.items()},
            "gross_by_day": dict(self.gross_by_day),
            "refunds": self.refunds,
            "refunded": self.refunded,
            "channels": sorted(self.channels),
            "touches": sorted(self.touches),
            "stage_seq": self.stage_seq,
            "stage_pending": self.stage_pending,
            "orders": self.orders,
            "gross": self.gross,
        }
        optional = {
            "merged_into": self.merged_into,
            "first_order_at": self.first_order_at,
            "first_order_day": self.first_order_day,
            "first_order_channel": self.first_order_channel,
            "lead_day": self.lead_day,
            "lead_channel": self.lead_channel,
            "signup_day": self.signup_day,
            "attribution": self.attribution,
            "stage": self.stage,
            "stage_since": self.stage_since,
            "scores": self.scores or None,
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        return item

    @classmethod
    def from_item(cls, key: str, item: dict[str, Any] | None) -> CustomerState:
        if not item:
            return cls(key=key)
        return cls(
            key=key,
            version=int(item.get("version", 0)),
            merged_into=item.get("merged_into"),
            orders_by_day={day: int(count) for day, count in (item.get("orders_by_day") or {}).items()},
            gross_by_day={day: Decimal(value) for day, value in (item.get("gross_by_day") or {}).items()},
            first_order_at=item.get("first_order_at"),
            first_order_day=item.get("first_order_day"),
            first_order_channel=item.get("first_order_channel"),
            refunds=int(item.get("refunds", 0)),
            refunded=Decimal(item.get("refunded", 0)),
            channels=frozenset(item.get("channels") or ()),
            touches=frozenset(item.get("touches") or ()),
            lead_day=item.get("lead_day"),
            lead_channel=item.get("lead_channel"),
            signup_day=item.get("signup_day"),
            attribution=item.get("attribution"),
            stage=item.get("stage"),
            stage_seq=int(item.get("stage_seq", 0)),
            stage_pending=bool(item.get("stage_pending", False)),
            stage_since=item.get("stage_since"),
            scores=dict(item.get("scores") or {}),
        )


def _add(into: Contributions, key: Key, name: str, value: Decimal) -> None:
    if value:
        bucket = into.setdefault(key, {})
        bucket[name] = bucket.get(name, ZERO) + value


def contributions(state: CustomerState) -> Contributions:
    """What this customer adds to the customer-level aggregates, under the attribution it was counted with."""
    out: Contributions = {}
    if state.merged_into is not None:
        return out
    if state.lead_day and state.lead_channel and state.orders:
        _add(out, keys.bucket(state.lead_day, state.lead_channel), "lead_customers", ONE)
    if not state.orders or state.first_order_day is None or state.first_order_channel is None:
        return out
    first_day, first_channel = state.first_order_day, state.first_order_channel
    _add(out, keys.bucket(first_day, first_channel), "new_customers", ONE)
    settings = AttributionSettings.from_label(state.attribution) if state.attribution else AttributionSettings()
    shares = credits(
        settings.model, set(state.touches), date.fromisoformat(first_day), first_channel, settings.lookback_days
    )
    for channel, share in shares.items():
        _add(out, keys.bucket(first_day, channel), f"acquired:{settings.label}", share)

    cohort = keys.cohort(month_of(first_day))
    months = state.active_months()
    _add(out, cohort, "customers", ONE)
    _add(out, cohort, "repeat_customers", ONE if state.orders >= 2 else ZERO)
    _add(out, cohort, "net", state.net)
    for month in months:
        _add(out, cohort, f"active:{month}", ONE)
        _add(out, keys.monthly(month[:4]), f"active:{month}", ONE)
        if previous_month(month) in months:
            _add(out, keys.monthly(month[:4]), f"retained:{month}", ONE)

    group = "multi" if len(state.channels) >= 2 else "single"
    _add(out, keys.CUSTOMERS, "customers", ONE)
    _add(out, keys.CUSTOMERS, "repeat_customers", ONE if state.orders >= 2 else ZERO)
    _add(out, keys.CUSTOMERS, "net", state.net)
    _add(out, keys.CUSTOMERS, f"{group}_customers", ONE)
    _add(out, keys.CUSTOMERS, f"{group}_orders", Decimal(state.orders))
    _add(out, keys.CUSTOMERS, f"{group}_gross", state.gross)
    return out


def difference(before: Contributions, after: Contributions) -> Contributions:
    """``after - before``, without the zeros."""
    out: Contributions = {}
    for key in before.keys() | after.keys():
        names = before.get(key, {}).keys() | after.get(key, {}).keys()
        for name in names:
            _add(out, key, name, after.get(key, {}).get(name, ZERO) - before.get(key, {}).get(name, ZERO))
    return out


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
