from __future__ import annotations

from datetime import UTC, datetime, timedelta

from capture.logic.clock_skew import corrected_occurred_at

RECEIVED = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def test_device_clock_running_an_hour_behind_is_corrected() -> None:
    # Given a device whose clock is one hour behind: the call happened 30 s before it was sent
    original = datetime(2026, 11, 23, 10, 59, 30, tzinfo=UTC)
    sent = datetime(2026, 11, 23, 11, 0, 0, tzinfo=UTC)
    # Then it happened 30 s before it was received, on the server's clock
    assert corrected_occurred_at(RECEIVED, original, sent) == RECEIVED - timedelta(seconds=30)


def test_device_clock_years_ahead_is_corrected() -> None:
    original = datetime(2031, 1, 1, 0, 0, 0, tzinfo=UTC)
    sent = original + timedelta(minutes=5)
    assert corrected_occurred_at(RECEIVED, original, sent) == RECEIVED - timedelta(minutes=5)


def test_without_sent_at_the_timestamp_is_taken_as_given() -> None:
    historical = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert corrected_occurred_at(RECEIVED, historical, None) == historical


def test_without_any_timestamp_it_happened_when_received() -> None:
    assert corrected_occurred_at(RECEIVED, None, None) == RECEIVED


def test_a_correction_never_lands_after_arrival() -> None:
    # Given a sentAt earlier than the call itself (a client bug)
    original = datetime(2026, 11, 23, 11, 0, 10, tzinfo=UTC)
    sent = datetime(2026, 11, 23, 11, 0, 0, tzinfo=UTC)
    assert corrected_occurred_at(RECEIVED, original, sent) == RECEIVED
