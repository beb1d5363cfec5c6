"""Wait (bounded) until no other apt or dpkg process holds their locks, then exit 0; exit 1 when the wait runs out.

A fresh cloud machine runs unattended-upgrades at its first boot: ``make browser``'s ``apt-get install`` would fail
at once on "Could not get lock /var/lib/dpkg/lock-frontend". Run with the system Python (before any virtualenv):

    python3 tools/apt_lock.py --timeout 600
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import sys
import time
from collections.abc import Callable, Sequence

# What apt-get update and apt-get install take, in the order apt takes them (dpkg locks with fcntl, as here).
APT_LOCKS = (
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
)
REPORT_SECONDS = 30.0


def held(path: str) -> bool:
    """Whether another process holds ``path``'s fcntl lock (taken and released at once if it is free)."""
    try:
        descriptor = os.open(path, os.O_RDWR)
    except OSError:  # absent (nothing to wait for) or not ours to open (apt would say so itself)
        return False
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN)
        return False
    finally:
        os.close(descriptor)


def wait_for_locks(
    paths: Sequence[str],
    timeout: float,
    *,
    say: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 1.0,
) -> bool:
    """True once none of ``paths`` is held; False when ``timeout`` seconds passed first. Says what it waits for
    when it starts waiting and every 30 s after."""
    started = clock()
    next_report = started
    while True:
        busy = [path for path in paths if held(path)]
        if not busy:
            if clock() > started + poll:
                say(f"apt is free after {clock() - started:.0f} s")
            return True
        waited = clock() - started
        if waited >= timeout:
            say(
                f"gave up after {timeout:.0f} s: another apt or dpkg process (unattended-upgrades on a fresh machine?)"
                f" still holds {busy[0]}; try again when it is done"
            )
            return False
        if clock() >= next_report:
            say(f"waiting for another apt or dpkg process to release {busy[0]} ({waited:.0f} s of {timeout:.0f} s)")
            next_report = clock() + REPORT_SECONDS
        sleep(poll)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait at most (default 600)")
    parser.add_argument("--lock", action="append", default=None, help="a lock file (default: apt's and dpkg's)")
    args = parser.parse_args(argv)
    free = wait_for_locks(args.lock or APT_LOCKS, args.timeout, say=lambda line: print(line, file=sys.stderr))
    return 0 if free else 1


if __name__ == "__main__":
    sys.exit(main())
