"""The customer lifecycle stage, from recency, frequency and monetary value (RFM), with configurable thresholds.

| stage | rule (first that holds) |
|---|---|
| ``recovery`` | has ordered, last order more than ``lapsed_days`` ago: lapsed, to win back |
| ``retention`` | has ordered, last order more than ``at_risk_days`` ago: at risk, to keep |
| ``loyalty`` | at least ``loyal_min_orders`` orders and a positive net value of at least ``loyal_min_value`` |
| ``experimentation`` | has ordered (trying the brand out) |
| ``acquisition`` | no order yet, but signed up or left a lead |
| none | an anonymous visitor: not in the lifecycle |

Recency is counted in business days from the last order to today, so stages move with time alone: each customer
carries the day its stage is next due for review, and a daily job re-evaluates the customers due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from kpis.logic.customer import CustomerState


class Stage(StrEnum):
    ACQUISITION = "acquisition"
    EXPERIMENTATION = "experimentation"
    LOYALTY = "loyalty"
    RETENTION = "retention"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class LifecycleThresholds:
    at_risk_days: int = 60
    lapsed_days: int = 180
    loyal_min_orders: int = 3
    loyal_min_value: Decimal = Decimal(0)


@dataclass(frozen=True)
class Rfm:
    recency_days: int | None
    frequency: int
    monetary: Decimal


def rfm(state: CustomerState, today: date) -> Rfm:
    last = state.last_order_day
    recency = (today - date.fromisoformat(last)).days if last else None
    return Rfm(recency_days=recency, frequency=state.orders, monetary=state.net)


def stage_of(state: CustomerState, today: date, thresholds: LifecycleThresholds) -> Stage | None:
    figures = rfm(state, today)
    if figures.recency_days is None:
        return Stage.ACQUISITION if state.signup_day or state.lead_day else None
    if figures.recency_days > thresholds.lapsed_days:
        return Stage.RECOVERY
    if figures.recency_days > thresholds.at_risk_days:
        return Stage.RETENTION
    # A customer whose orders were all refunded has no value to be loyal with.
    if (
        figures.frequency >= thresholds.loyal_min_orders
        and figures.monetary > 0
        and figures.monetary >= thresholds.loyal_min_value
    ):
        return Stage.LOYALTY
    return Stage.EXPERIMENTATION


def next_review(state: CustomerState, today: date, thresholds: LifecycleThresholds) -> date | None:
    """The first day on which time alone changes the stage (None when it never will)."""
    last = state.last_order_day
    if last is None:
        return None
    last_day = date.fromisoformat(last)
    for limit in (thresholds.at_risk_days, thresholds.lapsed_days):
        due = last_day + timedelta(days=limit + 1)
        if due > today:
            return due
    return None
