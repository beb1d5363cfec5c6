"""Business days in a configured time zone: an event counts in the local calendar day it happened on (by event
time, not arrival time), so a daylight-saving day simply has 23 or 25 hours. Weeks are ISO weeks (Monday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def business_day(moment: datetime, zone: ZoneInfo) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def month_of(day: date | str) -> str:
    return (day.isoformat() if isinstance(day, date) else day)[:7]


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from first to last, inclusive."""
    months, current = [], first
    while current <= last:
        months.append(current)
        year, number = int(current[:4]), int(current[5:7])
        current = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
    return months


def month_offset(cohort: str, month: str) -> int:
    return (int(month[:4]) - int(cohort[:4])) * 12 + int(month[5:7]) - int(cohort[5:7])


def period_start(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "total":
        return date.min
    raise ValueError(f"unknown granularity {granularity!r}")


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
