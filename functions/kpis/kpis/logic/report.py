"""KPIs read from the stored numerators and denominators; every ratio is computed here, at read time, from sums
(never an average of daily ratios). A query reads a bounded number of items: the day-and-channel buckets of the
period (at most days x channels), one cohort item per month, one retention item per year and one totals item,
however many events were rolled up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kpis.dal import keys
from kpis.dal.store import Item, KpiStore
from kpis.logic import distinct
from kpis.logic.calendar import month_of, months_between, period_start, previous_month

ZERO = Decimal(0)
RATE = Decimal("0.0001")
HUNDRED = Decimal(100)
COUNTERS = (
    "orders", "gross", "refunds", "refunded", "sessions", "page_views", "screen_views", "store_visits", "leads",
    "lead_customers", "signups", "new_customers", "spend", "nps_responses", "nps_promoters", "nps_detractors",
    "csat_responses", "csat_satisfied", "csat_total", "recovered_orders", "recovered", "fx_missing",
)  # fmt: skip


NATIVE = ("gross", "refunded", "spend", "recovered")


def _currencies(numbers: dict[str, Decimal]) -> list[str]:
    """The currencies the native sums (``gross:EUR`` ...) were kept in."""
    return sorted({name.split(":", 1)[1] for name in numbers if name.split(":", 1)[0] in NATIVE and ":" in name})


def ratio(numerator: Decimal, denominator: Decimal, quantum: Decimal = RATE) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(quantum, rounding=ROUND_HALF_EVEN)


@dataclass
class Sums:
    numbers: dict[str, Decimal]
    members: set[str]
    registers: dict[int, int]

    @classmethod
    def empty(cls) -> Sums:
        return cls(defaultdict(Decimal), set(), {})

    def add(self, item: Item) -> None:
        for name, value in item.items():
            if name in ("pk", "sk") or not isinstance(value, Decimal | int):
                continue
            self.numbers[name] += Decimal(value)

    def add_distinct(self, item: Item) -> None:
        self.members |= set(item.get("members") or ())
        for name, value in item.items():
            if name.startswith("h") and name[1:].isdigit():
                index = int(name[1:])
                self.registers[index] = max(self.registers.get(index, 0), int(value))

    def figures(self, money: Decimal, attribution: str, with_distinct: bool) -> dict[str, Any]:
        n = self.numbers
        net = n["gross"] - n["refunded"]
        acquired = n[f"acquired:{attribution}"]
        out: dict[str, Any] = {name: n[name] for name in COUNTERS}
        out.update(
            net=net,
            aov_gross=ratio(n["gross"], n["orders"], money),
            aov_net=ratio(net, n["orders"], money),
            conversion_rate=ratio(n["orders"], n["sessions"]),
            lead_to_customer_rate=ratio(n["lead_customers"], n["leads"]),
            acquired=acquired,
            cac=ratio(n["spend"], acquired, money),
            cost_per_acquisition=ratio(n["spend"], n["leads"] + n["signups"], money),
            cost_per_transaction=ratio(n["spend"], n["orders"], money),
            nps=ratio((n["nps_promoters"] - n["nps_detractors"]) * HUNDRED, n["nps_responses"], Decimal("0.01")),
            csat=ratio(n["csat_satisfied"] * HUNDRED, n["csat_responses"], Decimal("0.01")),
            csat_mean=ratio(n["csat_total"], n["csat_responses"], Decimal("0.01")),
            by_currency={code: {kind: n[f"{kind}:{code}"] for kind in NATIVE} for code in _currencies(n)},
        )
        if with_distinct:
            count, exact = distinct.count(self.members, self.registers)
            out["customers"] = count
            out["customers_exact"] = exact
        return out


def read_kpis(
    store: KpiStore,
    start: date,
    end: date,
    *,
    channels: list[str] | None,
    granularity: str,
    attribution: str,
    money_quantum: Decimal,
    with_distinct: bool = False,
) -> dict[str, Any]:
    groups: dict[tuple[date, str], Sums] = defaultdict(Sums.empty)
    periods: dict[date, Sums] = defaultdict(Sums.empty)
    total = Sums.empty()
    wanted = set(channels) if channels else None
    months = months_between(month_of(start), month_of(end))
    for prefix in ("D", "U") if with_distinct else ("D",):
        for month in months:
            for item in store.query(
                f"R#{month}", f"{prefix}#{start.isoformat()}", f"{prefix}#{end.isoformat()}#\uffff"
            ):
                _, day_text, channel = item["sk"].split("#", 2)
                if wanted is not None and channel not in wanted:
                    continue
                when = period_start(date.fromisoformat(day_text), granularity)
                for sums in (groups[(when, channel)], periods[when], total):
                    (sums.add if prefix == "D" else sums.add_distinct)(item)

    def label(when: date) -> str:
        return "total" if granularity == "total" else when.isoformat()

    rows = [
        {"period": label(when), "channel": channel, **sums.figures(money_quantum, attribution, with_distinct)}
        for (when, channel), sums in sorted(groups.items())
    ]
    per_period = [
        {"period": label(when), "channel": None, **sums.figures(money_quantum, attribution, with_distinct)}
        for when, sums in sorted(periods.items())
    ]
    cohorts = read_cohorts(store, month_of(start), month_of(end), money_quantum)
    sizes = sum((Decimal(row["customers"]) for row in cohorts), ZERO)
    repeaters = sum((Decimal(row["repeat_customers"]) for row in cohorts), ZERO)
    return {
        "totals": total.figures(money_quantum, attribution, with_distinct),
        "periods": per_period,
        "rows": rows,
        "repeat_purchase_rate": ratio(repeaters, sizes),
        "retention": read_retention(store, month_of(start), month_of(end)),
        "customers": read_customer_totals(store, money_quantum),
    }


def read_cohorts(store: KpiStore, first: str, last: str, money_quantum: Decimal) -> list[dict[str, Any]]:
    """The cohort retention matrix: per first-purchase month, how many of its customers ordered k months later."""
    rows = []
    for item in store.query("COHORT", first, last):
        cohort = item["sk"]
        size = Decimal(item.get("customers", 0))
        active = {
            name.split(":", 1)[1]: Decimal(value)
            for name, value in item.items()
            if name.startswith("active:") and value
        }
        offsets = []
        if active:
            for offset, month in enumerate(months_between(cohort, max(active))):
                count = active.get(month, ZERO)
                offsets.append({"offset": offset, "month": month, "customers": count, "rate": ratio(count, size)})
        net = Decimal(item.get("net", 0))
        repeat = Decimal(item.get("repeat_customers", 0))
        rows.append(
            {
                "cohort": cohort,
                "customers": size,
                "repeat_customers": repeat,
                "repeat_purchase_rate": ratio(repeat, size),
                "net": net,
                "historic_clv": ratio(net, size, money_quantum),
                "months": offsets,
            }
        )
    return rows


def read_retention(store: KpiStore, first: str, last: str) -> list[dict[str, Any]]:
    """Per month: customers who ordered in it, those of them who also ordered the month before, and the
    retention rate retained(m) / active(m - 1)."""
    values: dict[str, Decimal] = {}
    for year in range(int(previous_month(first)[:4]), int(last[:4]) + 1):
        values.update(
            {name: Decimal(value) for name, value in (store.get(keys.monthly(str(year))) or {}).items() if ":" in name}
        )
    out = []
    for month in months_between(first, last):
        active = values.get(f"active:{month}", ZERO)
        retained = values.get(f"retained:{month}", ZERO)
        before = values.get(f"active:{previous_month(month)}", ZERO)
        out.append(
            {
                "month": month,
                "active_customers": active,
                "retained_customers": retained,
                "retention_rate": ratio(retained, before),
            }
        )
    return out


def read_customer_totals(store: KpiStore, money_quantum: Decimal) -> dict[str, Any]:
    """All-time customer figures: historic CLV, repeat purchase rate, cross-channel engagement."""
    n: dict[str, Decimal] = defaultdict(Decimal)
    for name, value in (store.get(keys.CUSTOMERS) or {}).items():
        if name not in ("pk", "sk"):
            n[name] = Decimal(value)
    return {
        "customers": n["customers"],
        "repeat_customers": n["repeat_customers"],
        "repeat_purchase_rate": ratio(n["repeat_customers"], n["customers"]),
        "net": n["net"],
        "historic_clv": ratio(n["net"], n["customers"], money_quantum),
        "multi_channel_customers": n["multi_customers"],
        "single_channel_customers": n["single_customers"],
        "multi_channel_share": ratio(n["multi_customers"], n["customers"]),
        "aov_multi_channel": ratio(n["multi_gross"], n["multi_orders"], money_quantum),
        "aov_single_channel": ratio(n["single_gross"], n["single_orders"], money_quantum),
    }
