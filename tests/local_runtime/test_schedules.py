"""EventBridge schedule expressions, evaluated in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_runtime.schedules import parse_schedule

SATURDAY_NOON = datetime(2024, 6, 1, 12, 0, 30, tzinfo=UTC)


def test_rate_fires_one_interval_later() -> None:
    # Given rate expressions in each unit
    # When the next firing after a moment is asked for
    # Then it is that moment plus the interval
    assert parse_schedule("rate(5 minutes)").next_after(SATURDAY_NOON) == SATURDAY_NOON + timedelta(minutes=5)
    assert parse_schedule("rate(1 hour)").next_after(SATURDAY_NOON) == SATURDAY_NOON + timedelta(hours=1)
    assert parse_schedule("rate(2 days)").next_after(SATURDAY_NOON) == SATURDAY_NOON + timedelta(days=2)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 3 * * ? *)", datetime(2024, 6, 2, 3, 0, tzinfo=UTC)),  # daily 03:00: tomorrow
        ("cron(15,45 12 * * ? *)", datetime(2024, 6, 1, 12, 15, tzinfo=UTC)),  # later this hour
        ("cron(0/20 9-17 ? * MON-FRI *)", datetime(2024, 6, 3, 9, 0, tzinfo=UTC)),  # weekdays: Monday morning
        ("cron(0 8 1 JAN ? *)", datetime(2025, 1, 1, 8, 0, tzinfo=UTC)),  # yearly, names for months
        ("cron(30 6 ? * 1 *)", datetime(2024, 6, 2, 6, 30, tzinfo=UTC)),  # day-of-week 1 is Sunday
        ("cron(0 0 * * ? 2023)", None),  # only in the past: never
    ],
)
def test_cron_finds_the_next_matching_minute(expression: str, expected: datetime | None) -> None:
    # Given a six-field cron expression
    schedule = parse_schedule(expression)
    # When the next firing after Saturday noon is computed
    # Then it is the first matching minute (or None if there is none)
    assert schedule.next_after(SATURDAY_NOON) == expected


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(5 weeks)", "cron(0 3 * * ?)", "cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "every day"],
)
def test_expressions_the_runtime_cannot_evaluate_are_refused(expression: str) -> None:
    # Given an invalid or unsupported expression
    # When / Then it is refused (the runtime then fires it only on demand)
    with pytest.raises(ValueError, match=r"."):
        parse_schedule(expression)
