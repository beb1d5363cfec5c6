"""The bus samples in events/kpis are events the KPI consumer counts (or applies), once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kpis.logic.dispatch import apply
from kpis.logic.rollup_service import RollupConfig
from tests.support.kpi_service import memory_service

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "kpis"


def test_every_sample_is_applied_once():
    # Given the KPI consumer's bus samples and an empty table
    service, _ = memory_service(RollupConfig(), clock=lambda: datetime(2026, 11, 23, 12, tzinfo=UTC))
    samples = sorted(SAMPLES.glob("*.json"))
    assert len(samples) == 4

    # When each is delivered twice
    outcomes = {}
    for path in samples:
        event = json.loads(path.read_text(encoding="utf-8"))
        first = apply(service, event["source"], event["detail-type"], event["detail"])
        second = apply(service, event["source"], event["detail-type"], event["detail"])
        outcomes[path.stem] = (first, second)

    # Then the counted ones counted once, and the merge was applied
    assert outcomes["order_completed"] == ("counted", "duplicate")
    assert outcomes["survey_answered"] == ("counted", "duplicate")
    assert outcomes["cart_recovered"] == ("counted", "duplicate")
    assert outcomes["profile_merged"] == ("merged", "merged")
