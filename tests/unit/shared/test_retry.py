"""The one optimistic-retry loop (omnichannel.retry): attempts, and the wait before each one after the first."""

from __future__ import annotations

import pytest

from omnichannel.retry import RetriesExhausted, attempts, backoff


def test_attempts_wait_before_every_retry_doubling_up_to_the_cap() -> None:
    slept: list[float] = []

    numbers = list(attempts(5, base=0.1, cap=0.5, jitter=False, sleep=slept.append))

    assert numbers == [0, 1, 2, 3, 4]
    assert slept == [0.1, 0.2, 0.4, 0.5]  # none before the first attempt


def test_a_loop_that_succeeds_stops_waiting() -> None:
    slept: list[float] = []
    for attempt in attempts(5, base=0.1, sleep=slept.append):
        if attempt == 1:
            break
    assert len(slept) == 1


@pytest.mark.parametrize("attempt", [1, 2, 3, 8])
def test_full_jitter_stays_under_the_exponential_ceiling(attempt: int) -> None:
    ceiling = min(0.4, 0.01 * 2 ** (attempt - 1))
    waits = [backoff(attempt, base=0.01, cap=0.4) for _ in range(200)]
    assert all(0 <= wait <= ceiling for wait in waits)
    assert len(set(waits)) > 1


def test_running_out_of_retries_is_transient() -> None:
    # a queue consumer fails (not quarantines) a record whose retries ran out
    assert issubclass(RetriesExhausted, RuntimeError)
