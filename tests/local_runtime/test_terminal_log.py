"""``serve`` without --verbose: deliveries are summed up in one line, everything else is printed as it comes."""

from __future__ import annotations

import io
import logging
import threading

from local_runtime.terminal_log import ActivitySummary


def _logger(summary: ActivitySummary) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(summary)
    logger = logging.getLogger(f"terminal-log-test-{id(summary)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, out


def test_deliveries_are_held_back_and_summed_up_by_function_busiest_first() -> None:
    summary = ActivitySummary()
    logger, out = _logger(summary)
    for trigger, times in (
        ("ProfilesResolverFunction.CapturedEvents", 6),
        ("KpisRollupFunction.Captured", 3),
        ("KpisRollupFunction.Profiles", 2),
        ("CartsEventsFunction.Captured", 4),
        ("HandoffEventsFunction.Inbound", 1),
        ("CaptureOutboxRelayFunction.Stream", 1),
    ):
        for _ in range(times):
            logger.info("→ %s delivered (x)", trigger, extra={"activity": trigger})
    for _ in range(3):
        logger.info("bus: x", extra={"activity": "bus"})
    logger.error("✗ KpisRollupFunction.Captured failed")  # not an activity: printed at once

    assert out.getvalue() == "✗ KpisRollupFunction.Captured failed\n"
    assert summary.line() == (
        "delivered 17 to 5 functions (ProfilesResolverFunction 6, KpisRollupFunction 5, CartsEventsFunction 4,"
        " HandoffEventsFunction 1, +1 more); 3 events on the bus"
    )
    assert summary.line() is None  # counted once: the next line starts from zero


def test_schedule_ticks_are_never_summed_up_so_an_idle_runtime_stays_quiet() -> None:
    summary = ActivitySummary()
    logger, out = _logger(summary)
    logger.info("schedule X.EveryMinute fires", extra={"activity": "schedule"})
    logger.info("→ X.EveryMinute delivered (Scheduled Event)", extra={"activity": "schedule"})
    assert summary.line() is None
    assert out.getvalue() == ""


def test_the_reporter_logs_the_summary_and_a_last_one_when_stopped() -> None:
    summary = ActivitySummary()
    logger, out = _logger(summary)
    stop = threading.Event()
    thread = summary.report_every(3600, logger, stop)  # never ticks in the test: only the stop reports
    logger.info("→ A.B delivered (x)", extra={"activity": "A.B"})
    stop.set()
    thread.join(timeout=5)
    assert out.getvalue() == "delivered 1 to 1 function (A 1)\n"


def test_bus_events_without_deliveries_say_only_that() -> None:
    summary = ActivitySummary()
    logger, _ = _logger(summary)
    logger.info("bus: x", extra={"activity": "bus"})
    assert summary.line() == "1 event on the bus"
