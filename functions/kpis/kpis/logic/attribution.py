"""Who gets the credit for a new customer: the touches (channel-days) before the first order, within the lookback
window, shared out by the configured model.

A touch is one channel on one business day (a visit, a page or screen view, a lead, a sign-up or the order
itself), so the first order's own channel-day is always the path's last touch. Models:

- ``first_touch`` / ``last_touch``: all the credit to the earliest / latest touch;
- ``linear``: equal shares;
- ``time_decay``: weight ``2 ** (-days_before_conversion / 7)`` (a 7-day half-life), normalised;
- ``position_based``: 40 % first, 40 % last, 20 % shared by the touches between. A one-touch path gives that
  touch 100 %; a two-touch path gives 50 % each (no middle to take the 20 %).

The first order's channel-day is always last; other touches are ordered by day, then channel name (a
deterministic tie-break). Credits are rounded to six
decimal places (the last touch takes the rounding remainder, so a customer's credits add up to exactly 1).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

CREDIT_QUANTUM = Decimal("0.000001")
ONE = Decimal(1)


class AttributionModel(StrEnum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"
    LINEAR = "linear"
    TIME_DECAY = "time_decay"
    POSITION_BASED = "position_based"


HALF_LIFE_DAYS = 7
# Credits are kept for every model at each of these lookbacks (and the configured one), so a marketer compares
# models on the same period (as GA4's model comparison does) and the API answers any of them exactly.
STANDARD_LOOKBACKS = (1, 7, 14, 30, 60, 90)


def path(touches: AbstractSet[str], conversion_day: date, lookback_days: int) -> list[tuple[date, str]]:
    """The touches ("YYYY-MM-DD|channel") inside ``[conversion_day - lookback_days, conversion_day]``, in order."""
    chosen = []
    for touch in touches:
        day_text, _, channel = touch.partition("|")
        day = date.fromisoformat(day_text)
        if 0 <= (conversion_day - day).days <= lookback_days:
            chosen.append((day, channel))
    return sorted(chosen)


def _weights(model: AttributionModel, steps: list[tuple[date, str]], conversion_day: date) -> list[Decimal]:
    count = len(steps)
    if model is AttributionModel.FIRST_TOUCH:
        return [ONE] + [Decimal(0)] * (count - 1)
    if model is AttributionModel.LAST_TOUCH:
        return [Decimal(0)] * (count - 1) + [ONE]
    if model is AttributionModel.LINEAR:
        return [ONE / count] * count
    if model is AttributionModel.TIME_DECAY:
        raw = [Decimal(2) ** (Decimal(-(conversion_day - day).days) / HALF_LIFE_DAYS) for day, _ in steps]
        total = sum(raw, Decimal(0))
        return [weight / total for weight in raw]
    if count == 1:
        return [ONE]
    if count == 2:
        return [Decimal("0.5"), Decimal("0.5")]
    middle = Decimal("0.2") / (count - 2)
    return [Decimal("0.4")] + [middle] * (count - 2) + [Decimal("0.4")]


def credits(
    model: AttributionModel,
    touches: AbstractSet[str],
    conversion_day: date,
    conversion_channel: str,
    lookback_days: int,
) -> dict[str, Decimal]:
    """Credit per channel for one acquisition; the shares add up to exactly 1."""
    conversion = f"{conversion_day.isoformat()}|{conversion_channel}"
    steps = [*path(touches - {conversion}, conversion_day, lookback_days), (conversion_day, conversion_channel)]
    weights = _weights(model, steps, conversion_day)
    rounded = [weight.quantize(CREDIT_QUANTUM) for weight in weights]
    rounded[-1] += ONE - sum(rounded, Decimal(0))
    shares: dict[str, Decimal] = {}
    for (_, channel), share in zip(steps, rounded, strict=True):
        shares[channel] = shares.get(channel, Decimal(0)) + share
    return {channel: share for channel, share in shares.items() if share}


def every_credit(
    touches: frozenset[str], conversion_day: date, conversion_channel: str, lookbacks: tuple[int, ...]
) -> dict[str, dict[str, Decimal]]:
    """``acquired:<model>:<lookback>`` -> credit per channel, for every model and each lookback. Only the touches
    inside the longest lookback matter, so a customer's later touches find the credits computed already."""
    first = (conversion_day - timedelta(days=max(lookbacks))).isoformat()
    last = conversion_day.isoformat()
    relevant = frozenset(touch for touch in touches if first <= touch[:10] <= last)
    return _every_credit(relevant, conversion_day, conversion_channel, lookbacks)


@lru_cache(maxsize=4096)
def _every_credit(
    touches: frozenset[str], conversion_day: date, conversion_channel: str, lookbacks: tuple[int, ...]
) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for lookback in lookbacks:
        for model in AttributionModel:
            out[f"acquired:{model.value}:{lookback}"] = credits(
                model, touches, conversion_day, conversion_channel, lookback
            )
    return out
