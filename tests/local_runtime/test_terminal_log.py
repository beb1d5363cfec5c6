"""``serve`` without --verbose: deliveries are summed up in one line, everything else is printed as it comes."""

from __future__ import annotations

import io
import json
import logging
import threading

from local_runtime.terminal_log import ActivitySummary, FunctionOutput, compact_line


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


# ---------------------------------------------------------------- what the functions print (FunctionOutput)
POWERTOOLS_WARNING = (
    '{"level":"WARNING","location":"_refuse:90","message":"webhook signature refused",'
    '"timestamp":"2026-12-03 14:33:47,368+0000","service":"capture","sampling_rate":"0.01","cold_start":false,'
    '"function_name":"omnichannel-local-CaptureApiFunction","function_request_id":"r-1","provider":"whatsapp"}'
)
POWERTOOLS_INFO = '{"level":"INFO","location":"h:45","message":"resolved","timestamp":"2026-12-03 14:33:48,314+0000"}'
METRICS = (
    '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Omnichannel","Metrics":[]}]},"EventsAccepted":[1.0]}'
)


def test_function_warnings_read_as_one_line_and_info_and_metrics_are_dropped() -> None:
    assert compact_line(POWERTOOLS_WARNING) == "14:33:47 capture WARNING webhook signature refused (provider=whatsapp)"
    assert compact_line(POWERTOOLS_INFO) is None
    assert compact_line(POWERTOOLS_INFO.replace('"INFO"', '"DEBUG"')) is None
    assert compact_line(METRICS) is None
    # Lines that are not a function's JSON stay as they are
    assert compact_line("14:33:46 POST /v1/page → CaptureApiFunction 200 (736 ms)") == (
        "14:33:46 POST /v1/page → CaptureApiFunction 200 (736 ms)"
    )
    assert compact_line('{"not": "a log record"}') == '{"not": "a log record"}'


def test_a_logged_exception_shows_its_last_line_and_where_the_traceback_is() -> None:
    record = json.loads(POWERTOOLS_WARNING) | {
        "level": "ERROR",
        "message": "delivery failed",
        "exception": 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad phone',
        "exception_name": "ValueError",
    }
    shown = compact_line(json.dumps(record))
    assert shown is not None
    assert shown.splitlines()[0] == "14:33:47 capture ERROR delivery failed (provider=whatsapp)"
    assert "ValueError: bad phone" in shown.splitlines()[1]
    assert "--verbose" in shown


def test_function_output_assembles_lines_written_in_pieces_per_thread() -> None:
    # Given the terminal stream serve installs, written to as print() does (text, then the newline)
    target = io.StringIO()
    out = FunctionOutput(target)

    def write_from_a_function() -> None:
        for _ in range(50):
            out.write(METRICS)
            out.write("\n")
            out.write(POWERTOOLS_WARNING[:40])
            out.write(POWERTOOLS_WARNING[40:] + "\n")

    threads = [threading.Thread(target=write_from_a_function) for _ in range(4)]
    for thread in threads:
        thread.start()
    out.write("14:00:00 the runtime's own line\n")
    for thread in threads:
        thread.join()
    # Then every warning came out whole, once per write, and no metric blob at all
    lines = target.getvalue().splitlines()
    assert lines.count("14:33:47 capture WARNING webhook signature refused (provider=whatsapp)") == 200
    assert "14:00:00 the runtime's own line" in lines
    assert len(lines) == 201
