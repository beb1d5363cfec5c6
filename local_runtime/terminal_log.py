"""What ``serve`` prints: the runtime's own lines (cold starts, failures, dead letters, the demo) as they happen,
and every few seconds one line summing up the deliveries since the last, instead of a line per delivered
event, which buried the demo's closing instructions under hundreds of lines. ``--verbose`` prints every
delivery, bus event and schedule tick as it happens.

Records opt in with ``extra={"activity": ...}``: a trigger (``Function.Event``) for a delivery, ``"bus"`` for an
event seen on the bus, ``"schedule"`` for a schedule's tick and its delivery (summed up nowhere: the minute
schedules would otherwise print a line a minute, forever).

The functions run in the same process and print their own lines (Powertools JSON logs, embedded-metric blobs):
without ``--verbose``, :class:`FunctionOutput` shows their warnings and errors as one readable line each and
drops the rest.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections import Counter
from typing import TextIO

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


# Keys every Powertools log record carries: the compact line leaves them out and shows what the function added.
_STANDARD_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
SHOWN_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
MAX_EXTRA_CHARS = 240


def compact_line(line: str) -> str | None:
    """What the terminal shows of one line a function printed, without ``--verbose``:

    - a CloudWatch embedded-metric blob (``{"_aws": ...}``): nothing (it is for CloudWatch);
    - a Powertools JSON log record: nothing below WARNING, else one readable line
      (``12:00:01 capture WARNING webhook signature refused (status=401)``), an exception by its last line;
    - anything else: the line as it is.
    """
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return line
    try:
        record = json.loads(text)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    if "_aws" in record:
        return None
    level = record.get("level")
    if not isinstance(level, str) or "message" not in record:
        return line
    if level.upper() not in SHOWN_LEVELS:
        return None
    clock = str(record.get("timestamp") or "")[11:19]
    extras = ", ".join(
        f"{key}={value}" for key, value in record.items() if key not in _STANDARD_KEYS and value not in (None, "")
    )
    if len(extras) > MAX_EXTRA_CHARS:
        extras = extras[: MAX_EXTRA_CHARS - 1] + "…"
    shown = f"{clock} {record.get('service') or record.get('function_name') or '-'} {level.upper()} {record['message']}"
    if extras:
        shown += f" ({extras})"
    exception = str(record.get("exception") or "").strip()
    if exception:
        last = exception.splitlines()[-1]
        shown += f"\n         {last}  (the traceback: serve --verbose)"
    return shown


class FunctionOutput(io.TextIOBase):
    """``sys.stdout`` for ``serve`` without ``--verbose``: every complete line goes through :func:`compact_line`.

    The functions run in this process and print to ``sys.stdout`` (Powertools' logger and metrics do); lines are
    assembled per thread, since ``print`` writes a line's text and its newline separately."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target
        self._pending = threading.local()
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, text: str) -> int:
        buffered: str = getattr(self._pending, "text", "") + text
        *lines, rest = buffered.split("\n")
        self._pending.text = rest
        shown = [compact for line in lines if (compact := compact_line(line)) is not None]
        if shown:
            with self._lock:
                self._target.write("".join(f"{line}\n" for line in shown))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._target.flush()
