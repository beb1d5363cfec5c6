"""When a customer may be written to (pure): quiet hours and the frequency cap, one definition for every function
that writes to customers (outbound's online-to-store offers, the journeys), so a customer meets one policy.

- **Quiet hours** (e.g. ``21:00-09:00``, crossing midnight): a send inside the window waits until its end on the
  customer's local wall clock (DST moves it). ``""``, ``off``, ``none`` or an empty window mean none.
- **Frequency cap** (e.g. ``1/7d``, ``2/24h``): at most ``count`` messages per ``window``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([dh])\s*$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local time) in which nothing goes out, e.g. 21:00-09:00 (it may cross midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        """``"21:00-09:00"``; ``None``, ``""``, ``"off"`` or an empty window (start == end) mean none."""
        if text is None or not text.strip() or text.strip().lower() in ("off", "none"):
            return None
        match = _CLOCK.match(text)
        if match is None:
            raise ValueError(f"quiet hours {text!r}: expected HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if (h1, m1) == (h2, m2):
            return None
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def send_at(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When a message decided at ``now`` may go out: None if now is outside the window, else the window's
        end in ``zone`` (as UTC), which DST moves as the wall clock does."""
        local = now.astimezone(zone)
        wall = local.time().replace(tzinfo=None)
        if not self.contains(wall):
            return None
        day: date = local.date() if wall < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``count`` messages per ``window``, e.g. ``1/7d`` or ``2/24h``."""

    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> FrequencyCap:
        match = _CAP.match(text)
        if match is None:
            raise ValueError(f"frequency cap {text!r}: expected <count>/<n>d or <count>/<n>h, e.g. 1/7d")
        count, amount, unit = int(match.group(1)), int(match.group(2)), match.group(3)
        if amount < 1:
            raise ValueError("the cap's window must be at least 1 hour")
        return cls(count, timedelta(days=amount) if unit == "d" else timedelta(hours=amount))

    def allows(self, sent_at: Iterable[datetime | str], now: datetime) -> bool:
        """Whether one more may go out at ``now``, given when the earlier ones went out (datetimes, or ISO 8601
        times as the journeys keep them)."""
        since = now - self.window
        moments = (_moment(moment) for moment in sent_at)
        return sum(since < moment <= now for moment in moments) < self.count

    def recent(self, sent_at: Iterable[str], now: datetime) -> list[str]:
        """The ISO 8601 UTC times (``...Z``, milliseconds) still inside the window at ``now``, oldest first."""
        since = (now - self.window).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return sorted(moment for moment in sent_at if moment > since)


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
