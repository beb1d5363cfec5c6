"""The functions' metrics when ``POWERTOOLS_METRICS_DISABLED`` is set (the local runtime, the benchmarks): nothing
printed, nothing kept."""

from __future__ import annotations

from typing import Any

import pytest

from omnichannel.observability import build_metrics


def test_disabled_metrics_are_dropped_at_each_flush_not_printed_every_100_invocations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given metrics disabled, as the local runtime runs every function
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics = build_metrics("bench")

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="EventsAccepted", unit="Count", value=500)

    # When a function runs 250 times
    for _ in range(250):
        handler({}, None)

    # Then nothing was printed and nothing is kept (Powertools alone prints the set at the 100th value)
    assert capsys.readouterr().out == ""
    assert metrics.metric_set == {}


def test_enabled_metrics_still_print_once_per_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Omnichannel")
    metrics = build_metrics("bench")

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="EventsAccepted", unit="Count", value=500)

    handler({}, None)
    handler({}, None)

    lines = [line for line in capsys.readouterr().out.splitlines() if "EventsAccepted" in line]
    assert len(lines) == 2
    assert '"EventsAccepted":[500.0]' in lines[0].replace(" ", "")
