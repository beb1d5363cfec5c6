"""NPS and CSAT count ``Survey Answered`` whether capture announced it (the tracking API) or the journeys function
did (a reply or a signed link it received itself): the same canonical event, the same code, each answer once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kpis.dal.repository import StoreRepository
from kpis.logic.ports import Kind
from kpis.logic.rollup_service import RollupConfig
from tests.support.kpi_service import memory_service

EVENTS = Path(__file__).resolve().parents[3] / "events"
NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


def _sample(path: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / path).read_text(encoding="utf-8"))
    return event


def _journeys_answer(number: int, nps: int) -> dict[str, Any]:
    event = _sample("journeys/survey_answered.json")
    event["id"] = f"00000000-0000-4000-8000-{number:012d}"
    event["detail"]["event_id"] = f"10000000-0000-4000-8000-{number:012d}"
    event["detail"]["message_id"] = f"journeys:post_visit_nps:1:ask_nps:profile-{number}"
    event["detail"]["identifiers"] = {"user_id": f"u-{number}"}
    event["detail"]["properties"]["nps"] = nps
    return event


def _capture_answer(number: int, nps: int) -> dict[str, Any]:
    event = _sample("kpis/survey_answered.json")
    event["id"] = f"20000000-0000-4000-8000-{number:012d}"
    event["time"] = event["detail"]["occurred_at"] = event["detail"]["received_at"] = "2026-03-03T08:00:00Z"
    event["detail"]["event_id"] = f"30000000-0000-4000-8000-{number:012d}"
    event["detail"]["message_id"] = f"survey-{number}"
    event["detail"]["channel"] = "store"
    event["detail"]["identifiers"] = {"user_id": f"u-{number}"}
    event["detail"]["properties"] = {"nps": nps}
    return event


def test_answers_from_capture_and_from_journeys_each_count_once() -> None:
    # Given three answers the journeys function announced (a detractor, a passive, a promoter) and two a shop's
    # app sent through the tracking API (capture), all on 3 March in the store channel
    journeys = [_journeys_answer(1, 3), _journeys_answer(2, 8), _journeys_answer(3, 10)]
    captured = [_capture_answer(4, 9), _capture_answer(5, 2)]
    # And journeys' other bus events, which are no survey answers
    request = copy.deepcopy(_sample("journeys/message_requested.json"))
    service, store = memory_service(RollupConfig(), clock=lambda: NOW)

    # When they arrive mixed in one batch, then every answer again (at-least-once) in a second batch
    first = service.apply_batch([journeys[0], captured[0], request, journeys[1], journeys[2], captured[1]])
    second = service.apply_batch([*reversed(journeys), *captured])

    # Then nothing is poison, and each answer is counted once: 5 responses, 2 promoters, 2 detractors
    assert (first.poison, second.poison) == ({}, {})
    repository = StoreRepository(store, clock=lambda: NOW)
    (bucket,) = repository.read(Kind.BUCKET, "2026-03-03", "2026-03-03")
    assert (bucket.period, bucket.dimension) == ("2026-03-03", "store")
    counted = {name: int(bucket.numbers[name]) for name in ("nps_responses", "nps_promoters", "nps_detractors")}
    assert counted == {"nps_responses": 5, "nps_promoters": 2, "nps_detractors": 2}


def test_a_journeys_answer_that_is_no_survey_or_off_the_scale_is_not_counted() -> None:
    # Given a journeys Survey Answered whose score is off the scale, and one whose name is not a survey answer
    off_scale = _journeys_answer(6, 11)
    renamed = _journeys_answer(7, 9)
    renamed["detail"]["name"] = "Order Completed"
    service, store = memory_service(RollupConfig(), clock=lambda: NOW)

    # When both are applied
    result = service.apply_batch([off_scale, renamed])

    # Then the off-scale one is poison naming the field, and nothing is counted from either
    assert list(result.poison) == [0]
    assert "properties.nps" in result.poison[0]
    repository = StoreRepository(store, clock=lambda: NOW)
    assert list(repository.read(Kind.BUCKET, "2026-03-03", "2026-03-03")) == []
