"""KPIs read from the stored numerators and denominators; every ratio is computed here, at read time, from sums
(never an average of daily ratios). A query reads a bounded number of items: the day-level aggregates of the
period (at most days x channels x shards), one cohort item per month and shard, one retention item per year and
shard and the totals, however many events were rolled up.

Amounts in a currency without a rate are never counted as zero: they are kept apart per currency
(``unconverted``), the reporting-currency figures say which rates were missing (``missing_rates``), and the
average order values divide by the orders that could be converted only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kpis.logic import distinct
from kpis.logic.calendar import days_between, month_of, months_between, period_start, previous_month
from kpis.logic.ports import Kind, KpiRepository

ZERO = Decimal(0)
RATE = Decimal("0.0001")
HUNDRED = Decimal(100)
COUNTERS = (
    "orders", "gross", "refunds", "refunded", "sessions", "page_views", "screen_views", "store_visits", "leads",
    "lead_customers", "signups", "new_customers", "new_repeat_customers", "new_orders", "new_gross", "spend",
    "nps_responses", "nps_promoters", "nps_detractors", "csat_responses", "csat_satisfied", "csat_total",
    "recovered_orders", "recovered", "fx_missing",
)  # fmt: skip
NATIVE = ("gross", "refunded", "spend", "recovered")
UNCONVERTED = ("orders", "gross", "refunds", "refunded", "spend_rows", "spend", "recovered_orders", "recovered")
STAGES = ("acquisition", "experimentation", "loyalty", "retention", "recovery")


def ratio(numerator: Decimal, denominator: Decimal, quantum: Decimal = RATE) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(quantum, rounding=ROUND_HALF_EVEN)


def _suffixed(numbers: dict[str, Decimal], prefix: str) -> dict[str, Decimal]:
    """``{"EUR": x}`` of the counters named ``<prefix>:<CUR>``."""
    return {name[len(prefix) + 1 :]: value for name, value in numbers.items() if name.startswith(prefix + ":")}


@dataclass
class Sums:
    numbers: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    members: set[str] = field(default_factory=set)
    registers: dict[int, int] = field(default_factory=dict)

    def add(self, numbers: dict[str, Decimal]) -> None:
        for name, value in numbers.items():
            self.numbers[name] += value

    def add_distinct(self, members: set[str], registers: dict[int, int]) -> None:
        self.members |= members
        for index, rank in registers.items():
            self.registers[index] = max(self.registers.get(index, 0), rank)

    def unconverted(self) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        for kind in UNCONVERTED:
            for code, value in _suffixed(self.numbers, f"{kind}_unconverted").items():
                if value:
                    out.setdefault(code, dict.fromkeys(UNCONVERTED, ZERO))[kind] = value
        return dict(sorted(out.items()))

    def figures(self, money: Decimal, attribution: str, with_distinct: bool) -> dict[str, Any]:
        n = self.numbers
        unconverted = self.unconverted()
        converted_orders = n["orders"] - sum((row["orders"] for row in unconverted.values()), ZERO)
        returning_orders = converted_orders - n["new_orders"]
        net = n["gross"] - n["refunded"]
        acquired = n[f"acquired:{attribution}"]
        out: dict[str, Any] = {name: n[name] for name in COUNTERS}
        out.update(
            net=net,
            converted_orders=converted_orders,
            aov_gross=ratio(n["gross"], converted_orders, money),
            aov_net=ratio(net, converted_orders, money),
            returning_orders=returning_orders,
            returning_gross=n["gross"] - n["new_gross"],
            aov_new=ratio(n["new_gross"], n["new_orders"], money),
            aov_returning=ratio(n["gross"] - n["new_gross"], returning_orders, money),
            conversion_rate=ratio(n["orders"], n["sessions"]),
            lead_to_customer_rate=ratio(n["lead_customers"], n["leads"]),
            repeat_purchase_rate=ratio(n["new_repeat_customers"], n["new_customers"]),
            acquired=acquired,
            cac=ratio(n["spend"], acquired, money),
            cost_per_acquisition=ratio(n["spend"], n["leads"] + n["signups"], money),
            cost_per_transaction=ratio(n["spend"], n["orders"], money),
            roas=ratio(n["gross"], n["spend"], Decimal("0.01")),
            nps=ratio((n["nps_promoters"] - n["nps_detractors"]) * HUNDRED, n["nps_responses"], Decimal("0.01")),
            csat=ratio(n["csat_satisfied"] * HUNDRED, n["csat_responses"], Decimal("0.01")),
            csat_mean=ratio(n["csat_total"], n["csat_responses"], Decimal("0.01")),
            by_currency={
                code: {kind: n[f"{kind}:{code}"] for kind in NATIVE}
                for code in sorted({code for kind in NATIVE for code in _suffixed(n, kind)})
            },
            unconverted=unconverted,
            missing_rates=sorted(unconverted),
        )
        if with_distinct:
            count, exact = distinct.count(self.members, self.registers)
            out["customers"] = count
            out["customers_exact"] = exact
        return out


@dataclass(frozen=True)
class Query:
    start: date
    end: date
    channels: list[str] | None
    granularity: str
    attribution: str  # "<model>:<lookback>"
    money_quantum: Decimal
    with_distinct: bool = False


def _period(when: date, query: Query) -> dict[str, Any]:
    """A period's bounds inside the query; ``partial`` when the query cuts it (a week starting before start)."""
    if query.granularity == "total":
        first, last = query.start, query.end
        label = "total"
    else:
        first = max(when, query.start)
        if query.granularity == "day":
            natural_end = when
        elif query.granularity == "week":
            natural_end = when + timedelta(days=6)
        else:
            natural_end = (when.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        last = min(natural_end, query.end)
        label = when.isoformat()
        return {"period": label, "period_start": first.isoformat(), "period_end": last.isoformat(),
                "days": (last - first).days + 1, "partial": first != when or last != natural_end}  # fmt: skip
    return {"period": label, "period_start": first.isoformat(), "period_end": last.isoformat(),
            "days": (last - first).days + 1, "partial": False}  # fmt: skip


def read_kpis(repository: KpiRepository, query: Query) -> dict[str, Any]:
    groups: dict[tuple[date, str], Sums] = defaultdict(Sums)
    periods: dict[date, Sums] = defaultdict(Sums)
    total = Sums()
    wanted = set(query.channels) if query.channels else None
    first, last = query.start.isoformat(), query.end.isoformat()

    def sums_of(day_text: str, channel: str) -> list[Sums] | None:
        if wanted is not None and channel not in wanted:
            return None
        when = period_start(date.fromisoformat(day_text), query.granularity)
        return [groups[(when, channel)], periods[when], total]

    for kind in (Kind.BUCKET, Kind.CREDITS):
        for found in repository.read(kind, first, last):
            for sums in sums_of(found.period, found.dimension) or []:
                sums.add(found.numbers)
    if query.with_distinct:
        for sets in repository.distinct(first, last):
            for sums in sums_of(sets.day, sets.channel) or []:
                sums.add_distinct(sets.members, sets.registers)

    def figures(sums: Sums) -> dict[str, Any]:
        return sums.figures(query.money_quantum, query.attribution, query.with_distinct)

    rows = [
        {**_period(when, query), "channel": channel, **figures(sums)}
        for (when, channel), sums in sorted(groups.items())
    ]
    per_period = [{**_period(when, query), "channel": None, **figures(sums)} for when, sums in sorted(periods.items())]
    totals = figures(total)
    return {
        "totals": totals,
        "periods": per_period,
        "rows": rows,
        "repeat_purchase_rate": totals["repeat_purchase_rate"],
        "retention": read_retention(repository, month_of(query.start), month_of(query.end)),
        "customers": read_customer_totals(repository, query.money_quantum),
    }


def shifted(start: date, end: date, compare: str) -> tuple[date, date]:
    """The period a query is compared with: the same number of days just before, or the same dates a year
    earlier (29 February becomes the 28th)."""
    if compare == "previous_period":
        days = (end - start).days + 1
        return start - timedelta(days=days), start - timedelta(days=1)

    def year_before(day: date) -> date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)

    return year_before(start), year_before(end)


def deltas(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, dict[str, Decimal | None]]:
    """Per numeric figure: its change, and the change relative to the previous value."""
    out: dict[str, dict[str, Decimal | None]] = {}
    for name, value in current.items():
        before = previous.get(name)
        if isinstance(value, bool) or not isinstance(value, Decimal | int) or not isinstance(before, Decimal | int):
            continue
        change = Decimal(value) - Decimal(before)
        out[name] = {"previous": Decimal(before), "change": change, "change_rate": ratio(change, abs(Decimal(before)))}
    return out


def read_cohorts(repository: KpiRepository, first: str, last: str, money_quantum: Decimal) -> list[dict[str, Any]]:
    """The cohort retention matrix: per first-purchase month, how many of its customers ordered k months later."""
    out = []
    for rows in repository.read(Kind.COHORT, first, last):
        cohort, numbers = rows.period, rows.numbers
        size = numbers.get("customers", ZERO)
        active = {name.split(":", 1)[1]: value for name, value in numbers.items() if name.startswith("active:")}
        active = {month: value for month, value in active.items() if value}
        offsets = []
        if active:
            for offset, month in enumerate(months_between(cohort, max(active))):
                count = active.get(month, ZERO)
                offsets.append({"offset": offset, "month": month, "customers": count, "rate": ratio(count, size)})
        repeat = numbers.get("repeat_customers", ZERO)
        valued = numbers.get("valued_customers", ZERO)
        net = numbers.get("net", ZERO)
        out.append(
            {
                "cohort": cohort,
                "customers": size,
                "repeat_customers": repeat,
                "repeat_purchase_rate": ratio(repeat, size),
                "net": net,
                "valued_customers": valued,
                "historic_clv": ratio(net, valued, money_quantum),
                "months": offsets,
            }
        )
    return out


def read_retention(repository: KpiRepository, first: str, last: str) -> list[dict[str, Any]]:
    """Per month: customers who ordered in it, those of them who also ordered the month before, and the
    retention rate retained(m) / active(m - 1)."""
    values: dict[str, Decimal] = defaultdict(Decimal)
    for rows in repository.read(Kind.MONTHLY, previous_month(first)[:4], last[:4]):
        for name, value in rows.numbers.items():
            values[name] += value
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


def read_customer_totals(repository: KpiRepository, money_quantum: Decimal) -> dict[str, Any]:
    """All-time customer figures: historic CLV (over the customers whose every amount had a rate), repeat
    purchase rate, cross-channel engagement."""
    n: dict[str, Decimal] = defaultdict(Decimal)
    for rows in repository.read(Kind.TOTALS, "", ""):
        for name, value in rows.numbers.items():
            n[name] += value
    return {
        "customers": n["customers"],
        "repeat_customers": n["repeat_customers"],
        "repeat_purchase_rate": ratio(n["repeat_customers"], n["customers"]),
        "net": n["net"],
        "valued_customers": n["valued_customers"],
        "historic_clv": ratio(n["net"], n["valued_customers"], money_quantum),
        "multi_channel_customers": n["multi_customers"],
        "single_channel_customers": n["single_customers"],
        "multi_channel_share": ratio(n["multi_customers"], n["customers"]),
        "aov_multi_channel": ratio(n["multi_gross"], n["multi_orders"], money_quantum),
        "aov_single_channel": ratio(n["single_gross"], n["single_orders"], money_quantum),
    }


def read_campaigns(repository: KpiRepository, start: date, end: date, money_quantum: Decimal) -> dict[str, Any]:
    """Per campaign over the period: spend, sessions, orders, revenue, new customers and ROAS; and the same per
    UTM source / medium (no spend: spend rows name a campaign)."""

    def table(kind: Kind, name: str) -> list[dict[str, Any]]:
        sums: dict[str, Sums] = defaultdict(Sums)
        for rows in repository.read(kind, start.isoformat(), end.isoformat()):
            sums[rows.dimension].add(rows.numbers)
        out = []
        for dimension, found in sorted(sums.items()):
            n = found.numbers
            out.append(
                {
                    name: dimension,
                    "sessions": n["sessions"],
                    "orders": n["orders"],
                    "revenue": n["gross"],
                    "new_customers": n["new_customers"],
                    **(
                        {
                            "spend": n["spend"],
                            "roas": ratio(n["gross"], n["spend"], Decimal("0.01")),
                            "cac": ratio(n["spend"], n["new_customers"], money_quantum),
                            "spend_unconverted": {
                                code: value for code, value in _suffixed(n, "spend_unconverted").items() if value
                            },
                        }
                        if kind is Kind.CAMPAIGN
                        else {}
                    ),
                }
            )
        return out

    return {"campaigns": table(Kind.CAMPAIGN, "campaign"), "sources": table(Kind.SOURCE, "source_medium")}


def read_lifecycle(repository: KpiRepository, start: date, end: date, today: date) -> dict[str, Any]:
    """Customers per lifecycle stage now, at the start and the end of the period (now less the movements
    since), and the movements of each day of the period."""
    census: dict[str, Decimal] = defaultdict(Decimal)
    for rows in repository.read(Kind.CENSUS, "", ""):
        for name, value in rows.numbers.items():
            if name.startswith("stage:"):
                census[name[6:]] += value
    moves: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for rows in repository.read(Kind.LIFECYCLE, start.isoformat(), max(end, today).isoformat()):
        for name, value in rows.numbers.items():
            if name.startswith("moved:") and value:
                source, _, target = name[6:].partition(">")
                moves[rows.period][(source, target)] += value

    def census_before(day: date) -> dict[str, Decimal]:
        """The census at the start of ``day``: now, less every movement from that day on."""
        out = {stage: census.get(stage, ZERO) for stage in STAGES}
        for moved_day, pairs in moves.items():
            if moved_day >= day.isoformat():
                for (source, target), count in pairs.items():
                    if source in out:
                        out[source] += count
                    if target in out:
                        out[target] -= count
        return out

    movement = [
        {"day": day.isoformat(), "from": source, "to": target, "customers": count}
        for day in days_between(start, end)
        for (source, target), count in sorted(moves.get(day.isoformat(), {}).items())
    ]
    at_start, at_end = census_before(start), census_before(end + timedelta(days=1))
    return {
        "as_of": today.isoformat(),
        "census": {stage: census.get(stage, ZERO) for stage in STAGES},
        "start_census": at_start,
        "end_census": at_end,
        "change": {stage: at_end[stage] - at_start[stage] for stage in STAGES},
        "movement": movement,
    }
