"""``make browser`` waits (bounded) for another apt or dpkg process instead of failing on its lock."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.apt_lock import held, wait_for_locks

# Another process holding an fcntl lock on the file, as dpkg does, until it is told to stop
HOLDER = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(descriptor, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


@contextmanager
def held_by_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(  # noqa: S603 - our own snippet
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=10)


def test_a_free_lock_is_not_waited_for(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    said: list[str] = []
    assert wait_for_locks([str(lock), str(tmp_path / "absent")], timeout=5, say=said.append) is True
    assert said == []


def test_a_held_lock_is_waited_for_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    with held_by_another_process(lock) as holder:
        assert held(str(lock))
        said: list[str] = []
        released = False

        def sleep(seconds: float) -> None:
            nonlocal released
            if not released:  # the other process finishes while we wait
                assert holder.stdin is not None
                holder.stdin.write("done\n")
                holder.stdin.flush()
                holder.wait(timeout=10)
                released = True
            time.sleep(seconds)

        assert wait_for_locks([str(lock)], timeout=30, say=said.append, sleep=sleep, poll=0.2) is True
    assert said[0].startswith(f"waiting for another apt or dpkg process to release {lock}")


def test_the_wait_is_bounded_and_says_why_it_gave_up(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("")
    with held_by_another_process(lock):
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [sys.executable, "tools/apt_lock.py", "--timeout", "1", "--lock", str(lock)],
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert (
        f"gave up after 1 s: another apt or dpkg process (unattended-upgrades on a fresh machine?) still holds {lock}"
        in result.stderr
    )
