"""A journey's figures from its counters (pure): the funnel, what was sent, surveys and the lift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.logic.lift import lift
from journeys.models.definition import (
    CartAbandonedTrigger,
    EventTrigger,
    JourneyDefinition,
    LifecycleTrigger,
    SegmentTrigger,
)


def trigger_summary(definition: JourneyDefinition) -> str:
    trigger = definition.trigger
    if isinstance(trigger, EventTrigger):
        return f"event {trigger.event}" + (" (filtered)" if trigger.where else "")
    if isinstance(trigger, LifecycleTrigger):
        return "lifecycle to " + ", ".join(stage.value for stage in trigger.lifecycle.to)
    if isinstance(trigger, CartAbandonedTrigger):
        return "cart abandoned"
    assert isinstance(trigger, SegmentTrigger)
    return "segment of " + ", ".join([*trigger.segment.traits, *trigger.segment.kpis])


def _prefixed(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): value for name, value in sorted(counters.items()) if name.startswith(prefix)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def surveys(counters: Mapping[str, int]) -> dict[str, Any]:
    asked, answered = counters.get("survey:asked", 0), counters.get("survey:answered", 0)
    nps = {name: counters.get(f"survey:nps:{name}", 0) for name in ("promoter", "passive", "detractor")}
    nps_answers = sum(nps.values())
    csat = {name: counters.get(f"survey:csat:{name}", 0) for name in ("satisfied", "neutral", "unsatisfied")}
    csat_answers = sum(csat.values())
    low, followed = counters.get("survey:low", 0), counters.get("survey:followed_up", 0)
    return {
        "asked": asked,
        "answered": answered,
        "expired": counters.get("survey:expired", 0),
        "response_rate": _rate(answered, asked),
        "nps": {
            **nps,
            "answers": nps_answers,
            "score": round((nps["promoter"] - nps["detractor"]) / nps_answers * 100, 1) if nps_answers else None,
        },
        "csat": {
            **csat,
            "answers": csat_answers,
            "score": round(csat["satisfied"] / csat_answers * 100, 1) if csat_answers else None,
            "mean": round(counters.get("survey:csat:score_sum", 0) / csat_answers, 2) if csat_answers else None,
        },
        "low_answers": low,
        "followed_up": followed,
        "followed_up_rate": _rate(followed, low),
        "follow_up_mean_seconds": round(counters.get("survey:follow_up_seconds", 0) / followed) if followed else None,
        "follow_up_within": {
            name: counters.get(f"survey:follow_up_{name}", 0) for name in ("le_1h", "le_4h", "le_1d", "gt_1d")
        },
    }


def delivery(counters: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """How the requested messages ended, as outbound announced it, by channel: sent, failed, cancelled."""
    ends = _prefixed(counters, "delivery:")
    found: dict[str, dict[str, int]] = {"sent": {}, "failed": {}, "cancelled": {}}
    for name, value in ends.items():
        state, _, channel = name.partition(":")
        if state in found:
            found[state][channel] = value
    return found


def funnel(definition: JourneyDefinition, counters: Mapping[str, int], confidence: float = 0.95) -> dict[str, Any]:
    entered, held_out = counters.get("entered", 0), counters.get("held_out", 0)
    converted, converted_held_out = counters.get("converted", 0), counters.get("converted_held_out", 0)
    steps = _prefixed(counters, "step:")
    return {
        "entered": entered,
        "held_out": held_out,
        "converted": converted,
        "converted_held_out": converted_held_out,
        "finished": counters.get("finished", 0),
        "exited": _prefixed(counters, "exited:"),
        "steps": [{"id": step.id, "type": step.type, "reached": steps.get(step.id, 0)} for step in definition.steps],
        "sent": _prefixed(counters, "sent:"),  # requested, per channel chosen
        "delivery": delivery(counters),
        "skipped": _prefixed(counters, "skipped:"),
        "deferred": counters.get("deferred", 0),
        "tasks": counters.get("tasks", 0),
        "rewards": counters.get("rewards", 0),
        "store_offers": counters.get("store_offers", 0),
        "surveys": surveys(counters),
        "lift": lift(entered, converted, held_out, converted_held_out, confidence).as_dict()
        if definition.goal is not None
        else None,
    }
