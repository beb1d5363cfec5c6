"""One customer's running totals, and what they contribute to the customer-level aggregates.

The state is a pure function of the customer's events, whatever order they came in: sums, sets and minima
(``orders_by_day`` / ``gross_by_day`` per purchase day; the first order is the earliest by event time). The
customer-level aggregates (new customers and their attribution credits under every model, lead conversions,
new and returning revenue, campaign revenue, cohorts, monthly retention, repeat and cross-channel figures, the
lifecycle census) are a function of that state: :func:`contributions`. A change of state (an order, a late
earlier order, a merge, a stage the review moves) is applied to the aggregates as ``after - before`` in the same
commit, so every aggregate always equals what the customers' current states say.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from kpis.logic.attribution import STANDARD_LOOKBACKS, AttributionModel, every_credit
from kpis.logic.calendar import month_of, previous_month
from kpis.logic.facts import TOUCH_KINDS, Campaign, Fact, FactKind
from kpis.logic.ports import Aggregate, Deltas, Kind

ZERO = Decimal(0)
ONE = Decimal(1)
Contributions = Deltas
# An order is credited to the customer's latest campaign touch up to its day within this many days (GA4's
# last non-direct click, at business-day resolution); a customer keeps its latest MAX_CAMPAIGN_TOUCHES touches.
CAMPAIGN_LOOKBACK_DAYS = 30
MAX_CAMPAIGN_TOUCHES = 20


@dataclass(frozen=True)
class AttributionSettings:
    """The API's default model and lookback; credits are kept for every model at ``lookbacks``."""

    model: AttributionModel = AttributionModel.LAST_TOUCH
    lookback_days: int = 30

    @property
    def lookbacks(self) -> tuple[int, ...]:
        return tuple(sorted({*STANDARD_LOOKBACKS, self.lookback_days}))

    @property
    def label(self) -> str:
        """What a customer's credits were counted under: every model, at these lookbacks."""
        return "*:" + ",".join(str(days) for days in self.lookbacks)


def _lookbacks_of(label: str | None) -> tuple[int, ...]:
    if not label or not label.startswith("*:"):
        return STANDARD_LOOKBACKS
    return tuple(int(part) for part in label[2:].split(",") if part)


@dataclass(frozen=True)
class CustomerState:
    key: str
    version: int = 0
    merged_into: str | None = None
    orders_by_day: dict[str, int] = field(default_factory=dict)
    gross_by_day: dict[str, Decimal] = field(default_factory=dict)  # converted amounts, reporting currency
    first_order_at: str | None = None  # ISO UTC
    first_order_day: str | None = None
    first_order_channel: str | None = None
    first_order_amount: Decimal | None = None  # None when its currency had no rate
    refunds: int = 0
    refunded: Decimal = ZERO
    unconverted: dict[str, Decimal] = field(default_factory=dict)  # currency -> native net without a rate
    unconverted_orders: int = 0
    channels: frozenset[str] = frozenset()
    touches: frozenset[str] = frozenset()  # "day|channel" the customer touched (attribution)
    counted_in: frozenset[str] = frozenset()  # "day|channel" whose distinct set holds this key
    campaign_touches: frozenset[str] = frozenset()  # "at|campaign|source|medium", the latest few
    lead_day: str | None = None
    lead_channel: str | None = None
    signup_day: str | None = None
    attribution: str | None = None  # the lookbacks its credits were counted under ("*:1,7,...")
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
    def converted_orders(self) -> int:
        return self.orders - self.unconverted_orders

    @property
    def gross(self) -> Decimal:
        return sum(self.gross_by_day.values(), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded

    @property
    def valued(self) -> bool:
        """Every amount of the customer had a rate: its value in the reporting currency is complete."""
        return not self.unconverted

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
        repeat_spend = sum((self.gross_by_day.get(day, ZERO) for day in days[1:]), ZERO)
        mean = (repeat_spend / x).quantize(Decimal("0.01")) if x else ZERO
        return x, float((last - first).days), float(max((today - first).days, (last - first).days)), mean

    # ------------------------------------------------------------------ changes
    def with_fact(self, fact: Fact) -> CustomerState:
        touch = f"{fact.day}|{fact.channel}"
        state = replace(
            self,
            channels=self.channels | {fact.channel},
            touches=self.touches | {touch} if fact.kind in TOUCH_KINDS else self.touches,
            counted_in=self.counted_in | {touch},
        )
        if fact.campaign is not None:
            state = replace(state, campaign_touches=_latest(state.campaign_touches | {_campaign_touch(fact)}))
        if fact.kind is FactKind.ORDER:
            return state._with_order(fact)
        if fact.kind is FactKind.REFUND:
            if fact.converted:
                return replace(state, refunds=state.refunds + 1, refunded=state.refunded + fact.reporting_amount)
            assert fact.money is not None
            code = fact.money.currency
            return replace(
                state,
                refunds=state.refunds + 1,
                unconverted={**state.unconverted, code: state.unconverted.get(code, ZERO) - fact.money.amount},
            )
        if fact.kind is FactKind.LEAD and (
            state.lead_day is None or (fact.day, fact.channel) < (state.lead_day, state.lead_channel or "")
        ):
            return replace(state, lead_day=fact.day, lead_channel=fact.channel)
        if fact.kind is FactKind.SIGNUP and (state.signup_day is None or fact.day < state.signup_day):
            return replace(state, signup_day=fact.day)
        return state

    def _with_order(self, fact: Fact) -> CustomerState:
        at = fact.occurred_at.isoformat()
        earlier = self.first_order_at is None or (at, fact.channel) < (
            self.first_order_at,
            self.first_order_channel or "",
        )
        state = replace(
            self,
            orders_by_day={**self.orders_by_day, fact.day: self.orders_by_day.get(fact.day, 0) + 1},
            gross_by_day={**self.gross_by_day, fact.day: self.gross_by_day.get(fact.day, ZERO) + fact.reporting_amount},
        )
        if not fact.converted:
            assert fact.money is not None
            code = fact.money.currency
            state = replace(
                state,
                unconverted={**state.unconverted, code: state.unconverted.get(code, ZERO) + fact.money.amount},
                unconverted_orders=state.unconverted_orders + 1,
            )
        if earlier:
            state = replace(
                state,
                first_order_at=at,
                first_order_day=fact.day,
                first_order_channel=fact.channel,
                first_order_amount=fact.reporting_amount if fact.converted else None,
            )
        return state

    def folded_with(self, other: CustomerState) -> CustomerState:
        """This customer with ``other``'s history added (a merge): sums, unions and minima."""
        orders = dict(self.orders_by_day)
        gross = dict(self.gross_by_day)
        for day, count in other.orders_by_day.items():
            orders[day] = orders.get(day, 0) + count
            gross[day] = gross.get(day, ZERO) + other.gross_by_day.get(day, ZERO)
        unconverted = dict(self.unconverted)
        for code, value in other.unconverted.items():
            unconverted[code] = unconverted.get(code, ZERO) + value
        firsts = [
            (state.first_order_at, state.first_order_channel or "", state.first_order_day, state.first_order_amount)
            for state in (self, other)
            if state.first_order_at is not None
        ]
        first = min(firsts, key=lambda entry: (entry[0], entry[1])) if firsts else (None, None, None, None)
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
            first_order_amount=first[3],
            refunds=self.refunds + other.refunds,
            refunded=self.refunded + other.refunded,
            unconverted=unconverted,
            unconverted_orders=self.unconverted_orders + other.unconverted_orders,
            channels=self.channels | other.channels,
            touches=self.touches | other.touches,
            counted_in=self.counted_in | other.counted_in,
            campaign_touches=_latest(self.campaign_touches | other.campaign_touches),
            lead_day=lead[0],
            lead_channel=lead[1] or None,
            signup_day=min(signups) if signups else None,
        )

    # ------------------------------------------------------------------ storage
    def to_item(self) -> dict[str, Any]:
        """The stored record: what is empty, zero or false is left out (:meth:`from_item` reads it back as such),
        so a pointer or a visitor's first touches stay small."""
        item: dict[str, Any] = {
            "customer": self.key,
            "version": self.version,
            "orders_by_day": {day: Decimal(count) for day, count in self.orders_by_day.items()},
            "gross_by_day": dict(self.gross_by_day),
            "refunds": self.refunds,
            "refunded": self.refunded,
            "unconverted": dict(self.unconverted),
            "unconverted_orders": self.unconverted_orders,
            "channels": sorted(self.channels),
            "touches": sorted(self.touches),
            "counted_in": sorted(self.counted_in),
            "campaign_touches": sorted(self.campaign_touches),
            "stage_seq": self.stage_seq,
            "stage_pending": self.stage_pending,
            "orders": self.orders,
            "gross": self.gross,
            "merged_into": self.merged_into,
            "first_order_at": self.first_order_at,
            "first_order_day": self.first_order_day,
            "first_order_channel": self.first_order_channel,
            "first_order_amount": self.first_order_amount,
            "lead_day": self.lead_day,
            "lead_channel": self.lead_channel,
            "signup_day": self.signup_day,
            "attribution": self.attribution,
            "stage": self.stage,
            "stage_since": self.stage_since,
            "scores": self.scores or None,
        }
        kept = {"customer", "version", "first_order_amount"}  # a first order's amount may be zero
        return {name: value for name, value in item.items() if (name in kept and value is not None) or value}

    @classmethod
    def from_item(cls, key: str, item: dict[str, Any] | None) -> CustomerState:
        if not item:
            return cls(key=key)
        amount = item.get("first_order_amount")
        return cls(
            key=key,
            version=int(item.get("version", 0)),
            merged_into=item.get("merged_into"),
            orders_by_day={day: int(count) for day, count in (item.get("orders_by_day") or {}).items()},
            gross_by_day={day: Decimal(value) for day, value in (item.get("gross_by_day") or {}).items()},
            first_order_at=item.get("first_order_at"),
            first_order_day=item.get("first_order_day"),
            first_order_channel=item.get("first_order_channel"),
            first_order_amount=Decimal(amount) if amount is not None else None,
            refunds=int(item.get("refunds", 0)),
            refunded=Decimal(item.get("refunded", 0)),
            unconverted={code: Decimal(value) for code, value in (item.get("unconverted") or {}).items()},
            unconverted_orders=int(item.get("unconverted_orders", 0)),
            channels=frozenset(item.get("channels") or ()),
            touches=frozenset(item.get("touches") or ()),
            counted_in=frozenset(item.get("counted_in") or ()),
            campaign_touches=frozenset(item.get("campaign_touches") or ()),
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


def _clean(text: str) -> str:
    return text.replace("|", "/")


def _campaign_touch(fact: Fact) -> str:
    assert fact.campaign is not None
    campaign = fact.campaign
    return "|".join((fact.day, _clean(campaign.name), _clean(campaign.source), _clean(campaign.medium)))


def _latest(touches: frozenset[str]) -> frozenset[str]:
    """The customer's latest campaign touches (a deterministic choice: the same whatever the arrival order)."""
    if len(touches) <= MAX_CAMPAIGN_TOUCHES:
        return touches
    return frozenset(sorted(touches)[-MAX_CAMPAIGN_TOUCHES:])


def campaign_of_day(state: CustomerState, day: str) -> Campaign | None:
    """The campaign an order on ``day`` is credited to: the latest touch up to that day within the lookback."""
    order_day = date.fromisoformat(day)
    best: str | None = None
    for touch in state.campaign_touches:
        touch_day = touch[:10]
        if touch_day <= day and order_day - date.fromisoformat(touch_day) <= timedelta(CAMPAIGN_LOOKBACK_DAYS):
            best = touch if best is None or touch > best else best
    if best is None:
        return None
    _, name, source, medium = best.split("|", 3)
    return Campaign(name, source, medium)


def _add(into: Contributions, key: Aggregate, name: str, value: Decimal) -> None:
    if value:
        numbers = into.setdefault(key, {})
        numbers[name] = numbers.get(name, ZERO) + value


def credit_inputs(state: CustomerState) -> tuple[Any, ...]:
    """What a customer's attribution credits depend on (equal inputs: equal credits)."""
    if state.merged_into is not None or not state.orders or state.first_order_day is None:
        return ()
    lookbacks = _lookbacks_of(state.attribution)
    first = (date.fromisoformat(state.first_order_day) - timedelta(days=max(lookbacks))).isoformat()
    relevant = frozenset(touch for touch in state.touches if first <= touch[:10] <= state.first_order_day)
    return (relevant, state.first_order_day, state.first_order_channel, lookbacks)


def contributions(state: CustomerState, *, with_credits: bool = True) -> Contributions:
    """What this customer adds to the customer-level aggregates (``with_credits=False``: all but the attribution
    credits, for a change that leaves :func:`credit_inputs` as they were)."""
    out: Contributions = {}
    if state.merged_into is not None:
        return out
    if state.stage:
        _add(out, Aggregate(Kind.CENSUS), f"stage:{state.stage}", ONE)
    if state.lead_day and state.lead_channel and state.orders:
        _add(out, Aggregate(Kind.BUCKET, state.lead_day, state.lead_channel), "lead_customers", ONE)
    if not state.orders or state.first_order_day is None or state.first_order_channel is None:
        return out
    first_day, first_channel = state.first_order_day, state.first_order_channel
    repeat = ONE if state.orders >= 2 else ZERO
    first = Aggregate(Kind.BUCKET, first_day, first_channel)
    _add(out, first, "new_customers", ONE)
    _add(out, first, "new_repeat_customers", repeat)
    if state.first_order_amount is not None:
        _add(out, first, "new_orders", ONE)
        _add(out, first, "new_gross", state.first_order_amount)
    if with_credits:
        _credits(out, state, first_day, first_channel)
    _campaigns(out, state)
    _customer_level(out, state, repeat)
    return out


def _credits(out: Contributions, state: CustomerState, first_day: str, first_channel: str) -> None:
    shares = every_credit(state.touches, date.fromisoformat(first_day), first_channel, _lookbacks_of(state.attribution))
    for name, per_channel in shares.items():
        for channel, share in per_channel.items():
            _add(out, Aggregate(Kind.CREDITS, first_day, channel), name, share)


def _campaigns(out: Contributions, state: CustomerState) -> None:
    if not state.campaign_touches:
        return
    for day, count in state.orders_by_day.items():
        campaign = campaign_of_day(state, day)
        if campaign is None:
            continue
        for key in (Aggregate(Kind.CAMPAIGN, day, campaign.name), Aggregate(Kind.SOURCE, day, campaign.source_medium)):
            _add(out, key, "orders", Decimal(count))
            _add(out, key, "gross", state.gross_by_day.get(day, ZERO))
            if day == state.first_order_day:
                _add(out, key, "new_customers", ONE)


def _customer_level(out: Contributions, state: CustomerState, repeat: Decimal) -> None:
    assert state.first_order_day is not None
    valued = ONE if state.valued else ZERO
    net = state.net if state.valued else ZERO
    cohort = Aggregate(Kind.COHORT, month_of(state.first_order_day))
    months = state.active_months()
    _add(out, cohort, "customers", ONE)
    _add(out, cohort, "repeat_customers", repeat)
    _add(out, cohort, "valued_customers", valued)
    _add(out, cohort, "net", net)
    for month in months:
        _add(out, cohort, f"active:{month}", ONE)
        _add(out, Aggregate(Kind.MONTHLY, month[:4]), f"active:{month}", ONE)
        if previous_month(month) in months:
            _add(out, Aggregate(Kind.MONTHLY, month[:4]), f"retained:{month}", ONE)
    group = "multi" if len(state.channels) >= 2 else "single"
    totals = Aggregate(Kind.TOTALS)
    _add(out, totals, "customers", ONE)
    _add(out, totals, "repeat_customers", repeat)
    _add(out, totals, "valued_customers", valued)
    _add(out, totals, "net", net)
    _add(out, totals, f"{group}_customers", ONE)
    _add(out, totals, f"{group}_orders", Decimal(state.converted_orders))
    _add(out, totals, f"{group}_gross", state.gross)


def difference(before: Contributions, after: Contributions) -> Contributions:
    """``after - before``, without the zeros."""
    out: Contributions = {}
    for key in before.keys() | after.keys():
        names = before.get(key, {}).keys() | after.get(key, {}).keys()
        for name in names:
            _add(out, key, name, after.get(key, {}).get(name, ZERO) - before.get(key, {}).get(name, ZERO))
    return out


def summed(*parts: Contributions) -> Contributions:
    out: Contributions = {}
    for part in parts:
        for key, numbers in part.items():
            for name, value in numbers.items():
                _add(out, key, name, value)
    return out
