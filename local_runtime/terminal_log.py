"""What ``serve`` prints: the runtime's own lines (cold starts, failures, dead letters, the demo) as they happen,
and every few seconds one line summing up the deliveries since the last, instead of a line per delivered
event, which buried the demo's closing instructions under hundreds of lines. ``--verbose`` prints every
delivery, bus event and schedule tick as it happens.

Records opt in with ``extra={"activity": ...}``: a trigger (``Function.Event``) for a delivery, ``"bus"`` for an
event seen on the bus, ``"schedule"`` for a schedule's tick and its delivery (summed up nowhere: the minute
schedules would otherwise print a line a minute, forever).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

SHOWN = 4  # functions named in a summary line, the busiest first


class ActivitySummary(logging.Filter):
    """Holds back activity records and counts them; :meth:`line` gives the summary since the last call."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._deliveries: Counter[str] = Counter()
        self._bus = 0

    def filter(self, record: logging.LogRecord) -> bool:
        activity = getattr(record, "activity", None)
        if activity is None:
            return True
        with self._lock:
            if activity == "bus":
                self._bus += 1
            elif activity != "schedule":
                self._deliveries[str(activity).split(".")[0]] += 1
        return False

    def line(self) -> str | None:
        with self._lock:
            deliveries, bus = self._deliveries, self._bus
            self._deliveries, self._bus = Counter(), 0
        if not deliveries and not bus:
            return None
        parts = []
        if deliveries:
            busiest = [f"{name} {count}" for name, count in deliveries.most_common(SHOWN)]
            if len(deliveries) > SHOWN:
                busiest.append(f"+{len(deliveries) - SHOWN} more")
            functions = f"{len(deliveries)} function{'s' * (len(deliveries) != 1)}"
            parts.append(f"delivered {sum(deliveries.values())} to {functions} ({', '.join(busiest)})")
        if bus:
            parts.append(f"{bus} event{'s' * (bus != 1)} on the bus")
        return "; ".join(parts)

    def report_every(self, seconds: float, logger: logging.Logger, stop: threading.Event) -> threading.Thread:
        """A daemon thread logging :meth:`line` every ``seconds`` until ``stop`` (and once more then)."""

        def run() -> None:
            while not stop.wait(seconds):
                self._report(logger)
            self._report(logger)

        thread = threading.Thread(target=run, name="activity-summary", daemon=True)
        thread.start()
        return thread

    def _report(self, logger: logging.Logger) -> None:
        text = self.line()
        if text:
            logger.info(text)
