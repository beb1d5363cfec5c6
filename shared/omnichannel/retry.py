"""Optimistic retries: try, and if somebody else won the race, wait a little and try again.

Every function that reads, decides and writes on a condition (a version, ``attribute_not_exists``, a transaction)
loops the same way; this is that loop's timing, in one place::

    for attempt in attempts(5, base=0.01, cap=0.4, sleep=self.sleep):
        current = read()
        try:
            write(decide(current), expected=current.version)
        except WriteConflict:
            continue
        return ...
    raise TooMuchContention(key)  # a RetriesExhausted: transient, the caller's caller may retry later

Before every attempt after the first it sleeps ``base * 2**n`` seconds, capped at ``cap``, with full jitter by
default (a random time between 0 and that), so that two writers who collided do not collide again in step. No
boto3 here: logic layers use it as well as data layers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator


class RetriesExhausted(RuntimeError):
    """Every attempt lost a race (or found the service busy). Nothing is wrong with the input: a later attempt
    may pass, so a queue consumer fails the record and lets it come back rather than quarantining it."""


def backoff(attempt: int, *, base: float, cap: float, jitter: bool = True) -> float:
    """The wait before attempt ``attempt`` (1 = the first retry): ``base * 2**(attempt - 1)`` capped at ``cap``,
    a random fraction of it with ``jitter``."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(0, ceiling) if jitter else ceiling  # noqa: S311 - jitter, not a secret


def attempts(
    count: int,
    *,
    base: float,
    cap: float = 1.0,
    jitter: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[int]:
    """Attempt numbers ``0 .. count - 1``; waits (see :func:`backoff`) before each one after the first."""
    for attempt in range(count):
        if attempt:
            sleep(backoff(attempt, base=base, cap=cap, jitter=jitter))
        yield attempt
