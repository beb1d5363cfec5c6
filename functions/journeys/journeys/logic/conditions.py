"""Branch conditions, evaluated against a customer at one moment (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys.logic.clock import iso as _iso
from journeys.logic.contact import CHANNELS, Reach
from journeys.logic.durations import parse_duration
from journeys.logic.matching import filter_holds, passes
from journeys.models.definition import Condition, EventSeen, MessageChannel, Ops, tests_of
from journeys.models.state import CustomerFacts, Profile, Run


def seen_key(seen: EventSeen) -> str:
    """The remembered "last seen" slot of an ``event_seen`` test: its event and filter."""
    text = json.dumps({"e": seen.event, "w": tests_of(seen.where)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def trigger_document(trigger: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``trigger:`` test reads: the trigger's own fields and its properties, at the top and under
    ``properties`` (``properties.total`` on a captured event, ``monetary`` on a lifecycle change)."""
    properties = dict(trigger.get("properties") or {})
    return {**properties, "properties": properties, "channel": trigger.get("channel"), "name": trigger.get("event")}


@dataclass(frozen=True)
class Facts:
    """What a condition may look at."""

    now: datetime
    run: Run
    facts: CustomerFacts
    profile: Profile | None
    reach: Reach


def _channel_test(value: str, test: Any) -> bool:
    if value == "any":
        return any(test(channel) for channel in CHANNELS)
    return bool(test(MessageChannel(value)))


def holds(condition: Condition, seen: Facts) -> bool:
    if condition.traits is not None:
        return filter_holds(seen.profile.traits if seen.profile else {}, tests_of(condition.traits))
    if condition.kpis is not None:
        return filter_holds(seen.facts.kpis, tests_of(condition.kpis))
    if condition.stage is not None:
        return seen.facts.kpis.get("stage") in {stage.value for stage in condition.stage}
    if condition.event_seen is not None:
        last = seen.facts.seen.get(seen_key(condition.event_seen))
        if last is None:
            return False
        if condition.event_seen.since_entry and last < seen.run.entered_at:
            return False
        within = condition.event_seen.within
        return within is None or last >= _iso(seen.now - parse_duration(within))
    if condition.consent is not None:
        return _channel_test(condition.consent, lambda channel: seen.reach.consent.get(channel, False))
    if condition.reachable is not None:
        return _channel_test(condition.reachable, seen.reach.reachable)
    if condition.trigger is not None:
        return filter_holds(trigger_document(seen.run.trigger), tests_of(condition.trigger))
    if condition.survey is not None:
        answer = seen.run.answer(condition.survey.step)
        if condition.survey.answered is not None and (answer is not None) is not condition.survey.answered:
            return False
        if condition.survey.score is not None:
            score = condition.survey.score
            return answer is not None and passes(score.as_test() if isinstance(score, Ops) else score, [answer.score])
        return True
    if condition.all_ is not None:
        return all(holds(child, seen) for child in condition.all_)
    if condition.any_ is not None:
        return any(holds(child, seen) for child in condition.any_)
    if condition.not_ is not None:
        return not holds(condition.not_, seen)
    raise ValueError("empty condition")


def cooldown_over(entered_at: str, cooldown: str, now: datetime) -> bool:
    return entered_at <= _iso(now - parse_duration(cooldown))
