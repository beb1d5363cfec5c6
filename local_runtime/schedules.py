"""EventBridge schedule expressions: ``rate(5 minutes)`` and the six-field ``cron(0 12 * * ? *)``, in UTC.

Supported in cron fields: numbers, names (JAN-DEC, SUN-SAT), ``*``, ``?``, ranges, lists and ``/`` steps. The
day-of-month ``L``/``W`` and day-of-week ``L``/``#`` forms are refused with a ValueError (the runtime then only
fires such a schedule on demand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_WEEKDAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_SEARCH_DAYS = 5 * 366


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule expression. ``next_after`` answers the first firing time strictly after a moment."""

    expression: str
    interval: timedelta | None = None
    minutes: frozenset[int] | None = None
    hours: frozenset[int] | None = None
    days_of_month: frozenset[int] | None = None
    months: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None  # 1 = Sunday, as in EventBridge
    years: frozenset[int] | None = None

    def next_after(self, moment: datetime) -> datetime | None:
        moment = moment.astimezone(UTC)
        if self.interval is not None:
            return moment + self.interval
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for offset in range(_SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in sorted(self.hours if self.hours is not None else range(24)):
                for minute in sorted(self.minutes if self.minutes is not None else range(60)):
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
        return None

    def _day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days_of_month is None or day.day in self.days_of_month)
            and (self.days_of_week is None or weekday in self.days_of_week)
        )


def parse_schedule(expression: str) -> Schedule:
    """Read ``rate(...)`` or ``cron(...)``; raises ValueError for anything else."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value = int(rate.group(1))
        if value <= 0:
            raise ValueError(f"{expression}: the rate must be positive")
        return Schedule(text, interval=timedelta(seconds=value * _UNITS[rate.group(2).rstrip("s")]))
    cron = _CRON.match(text)
    if not cron:
        raise ValueError(f"{expression}: not a rate(...) or cron(...) expression")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{expression}: cron needs six fields (minutes hours day-of-month month day-of-week year)")
    minute, hour, day_of_month, month, day_of_week, year = fields
    return Schedule(
        text,
        minutes=_field(minute, 0, 59),
        hours=_field(hour, 0, 23),
        days_of_month=_field(day_of_month, 1, 31),
        months=_field(month, 1, 12, _MONTHS),
        days_of_week=_field(day_of_week, 1, 7, _WEEKDAYS),
        years=_field(year, 1970, 2199),
    )


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values a cron field allows; None when it allows any."""
    if text in ("*", "?"):
        return None

    def value(token: str) -> int:
        number = (names or {}).get(token.upper())
        if number is None:
            if not token.isdigit():
                raise ValueError(f"cron field {text!r}: {token!r} is not supported locally (nor are L, W and #)")
            number = int(token)
        if not low <= number <= high:
            raise ValueError(f"cron field {text!r}: {token} is outside {low}-{high}")
        return number

    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        if step <= 0:
            raise ValueError(f"cron field {text!r}: the step must be positive")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = value(first), value(last)
        else:
            start = value(base)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)
