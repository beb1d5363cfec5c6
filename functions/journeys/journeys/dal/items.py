"""JourneysTable items (DynamoDB low-level attribute values) <-> the engine's objects. The one place that knows
the item shapes; ``docs/journeys.md`` ("Items") describes them.

| item | pk | sk |
|---|---|---|
| run | ``P#<profile_id>`` | ``A#RUN#<journey_id>`` |
| facts | ``P#<profile_id>`` | ``A#FACTS`` |
| effect (outbox and message log; a message's end) | ``P#<profile_id>`` | ``Z#OUT#<event_id>`` |
| event mark (dedupe) | ``P#<profile_id>`` | ``Z#SEEN#<event_id>`` |
| counters | ``STATS#<journey_id>`` | ``S#<shard>`` |

A run waiting for something, and an effect not announced yet, carry ``due_pk`` (``DUE#<shard>``) and ``due_sk``
(``<when>#<pk>#<sk>``): the sparse ``by_due`` index the sweep reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from journeys.logic.clock import iso
from journeys.logic.holdout import shard
from journeys.logic.ports import StoredEffect
from journeys.models.state import (
    ConsentMark,
    CustomerFacts,
    Delivery,
    Effect,
    Group,
    OpenSurvey,
    Run,
    RunStatus,
    SurveyAnswer,
)

RUN_PREFIX = "A#RUN#"
FACTS_SK = "A#FACTS"
EFFECT_PREFIX = "Z#OUT#"
SEEN_PREFIX = "Z#SEEN#"
DUE_SHARDS = 8
STATS_SHARDS = 16
EFFECT_KEEP = timedelta(days=90)
SEEN_KEEP = timedelta(days=30)  # longer than EventBridge's 24 h of retries and the archive's 14 days of replay
REPUBLISH_AFTER = timedelta(minutes=2)


def customer_pk(profile_id: str) -> str:
    return f"P#{profile_id}"


def profile_of_pk(pk: str) -> str:
    return pk.removeprefix("P#")


def stats_pk(journey_id: str) -> str:
    return f"STATS#{journey_id}"


def stats_sk(profile_id: str) -> str:
    return f"S#{shard(profile_id, STATS_SHARDS):02d}"


def due_pk(profile_id: str) -> str:
    return f"DUE#{shard(profile_id, DUE_SHARDS)}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _json(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def _int(item: dict[str, Any], name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else default


def _loads(item: dict[str, Any], name: str, default: Any) -> Any:
    text = _text(item, name)
    return json.loads(text) if text else default


def key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(pk), "sk": _s(sk)}


# ------------------------------------------------------------------------------------------------ runs


def run_item(run: Run) -> dict[str, Any]:
    pk, sk = customer_pk(run.profile_id), RUN_PREFIX + run.journey_id
    item: dict[str, Any] = {
        **key(pk, sk),
        "kind": _s("run"),
        "journey_id": _s(run.journey_id),
        "version": _n(run.version),
        "run": _n(run.run),
        "group": _s(run.group.value),
        "status": _s(run.status.value),
        "entered_at": _s(run.entered_at),
        "seq": _n(run.seq),
        "trigger": _json(run.trigger),
        "answers": _json([asdict(answer) for answer in run.answers]),
        "rev": _n(run.revision + 1),
    }
    optional = {
        "step": run.step,
        "step_at": run.step_at,
        "due_at": run.due_at,
        "goal_until": run.goal_until,
        "converted_at": run.converted_at,
        "ended_at": run.ended_at,
        "end_reason": run.end_reason,
        "detractor_at": run.detractor_at,
        "merged_from": run.merged_from,
    }
    item.update({name: _s(value) for name, value in optional.items() if value is not None})
    if run.survey is not None:
        item["survey"] = _json(asdict(run.survey))
    if run.open and run.due_at is not None:
        item["due_pk"] = _s(due_pk(run.profile_id))
        item["due_sk"] = _s(f"{run.due_at}#{pk}#{sk}")
    return item


def run_from_item(item: dict[str, Any]) -> Run:
    survey = _loads(item, "survey", None)
    return Run(
        profile_id=profile_of_pk(str(item["pk"]["S"])),
        journey_id=str(_text(item, "journey_id")),
        version=_int(item, "version", 1),
        run=_int(item, "run", 1),
        group=Group(str(_text(item, "group"))),
        status=RunStatus(str(_text(item, "status"))),
        entered_at=str(_text(item, "entered_at")),
        step=_text(item, "step"),
        step_at=_text(item, "step_at"),
        seq=_int(item, "seq"),
        due_at=_text(item, "due_at"),
        goal_until=_text(item, "goal_until"),
        converted_at=_text(item, "converted_at"),
        ended_at=_text(item, "ended_at"),
        end_reason=_text(item, "end_reason"),
        trigger=_loads(item, "trigger", {}),
        survey=OpenSurvey(**survey) if survey else None,
        answers=tuple(SurveyAnswer(**answer) for answer in _loads(item, "answers", [])),
        detractor_at=_text(item, "detractor_at"),
        merged_from=_text(item, "merged_from"),
        revision=_int(item, "rev"),
    )


# ------------------------------------------------------------------------------------------------ facts


def facts_item(facts: CustomerFacts) -> dict[str, Any]:
    return {
        **key(customer_pk(facts.profile_id), FACTS_SK),
        "kind": _s("facts"),
        "consent": _json({channel: asdict(mark) for channel, mark in facts.consent.items()}),
        "kpis": _json(facts.kpis),
        "seen": _json(facts.seen),
        "segments": _json(facts.segments),
        "sent": _json(list(facts.sent)),
        "rev": _n(facts.revision + 1),
    }


def facts_from_item(profile_id: str, item: dict[str, Any] | None) -> CustomerFacts:
    if item is None:
        return CustomerFacts(profile_id)
    return CustomerFacts(
        profile_id=profile_id,
        consent={channel: ConsentMark(**mark) for channel, mark in _loads(item, "consent", {}).items()},
        kpis=_loads(item, "kpis", {}),
        seen=_loads(item, "seen", {}),
        segments=_loads(item, "segments", {}),
        sent=tuple(_loads(item, "sent", [])),
        revision=_int(item, "rev"),
    )


# ------------------------------------------------------------------------------------------------ effects


def effect_item(profile_id: str, effect: Effect, now: datetime) -> dict[str, Any]:
    pk, sk = customer_pk(profile_id), EFFECT_PREFIX + effect.event_id
    item: dict[str, Any] = {
        **key(pk, sk),
        "kind": _s("effect"),
        "effect": _s(effect.kind),
        "journey_id": _s(effect.journey_id),
        "step_id": _s(effect.step_id),
        "detail_type": _s(effect.detail_type),
        "detail": _json(effect.detail),
        "summary": _json(effect.summary),
        "created_at": _s(effect.created_at),
        "due_pk": _s(due_pk(profile_id)),
        "due_sk": _s(f"{iso(now + REPUBLISH_AFTER)}#{pk}#{sk}"),
        "expires_at": _n(int((now + EFFECT_KEEP).timestamp())),
    }
    if effect.channel:
        item["channel"] = _s(effect.channel)
    return item


def stored_effect_item(profile_id: str, effect: StoredEffect, now: datetime) -> dict[str, Any]:
    """A stored effect written again under another customer (an undone merge), announced or not as it was."""
    item = effect_item(
        profile_id,
        Effect(
            effect.event_id,
            effect.kind,
            effect.detail_type,
            effect.detail,
            effect.journey_id,
            effect.step_id,
            effect.created_at,
            effect.channel,
            effect.summary,
        ),
        now,
    )
    if effect.published_at is not None:
        item["published_at"] = _s(effect.published_at)
        del item["due_pk"], item["due_sk"]
    if effect.delivery is not None:
        item.update(delivery_values(effect.delivery))
    return item


def delivery_values(delivery: Delivery) -> dict[str, Any]:
    """A message's end on its effect item: ``delivery`` (sent | failed | cancelled), ``delivered_at``,
    ``delivery_channel`` and, when it did not go out, ``delivery_error``."""
    values = {
        "delivery": _s(delivery.state),
        "delivered_at": _s(delivery.at),
        "delivery_channel": _s(delivery.channel),
    }
    if delivery.error_code:
        values["delivery_error"] = _s(delivery.error_code)
    return values


def _delivery(item: dict[str, Any]) -> Delivery | None:
    state = _text(item, "delivery")
    if state is None:
        return None
    return Delivery(
        state, str(_text(item, "delivered_at")), str(_text(item, "delivery_channel")), _text(item, "delivery_error")
    )


def effect_from_item(item: dict[str, Any]) -> StoredEffect:
    return StoredEffect(
        event_id=str(item["sk"]["S"]).removeprefix(EFFECT_PREFIX),
        profile_id=profile_of_pk(str(item["pk"]["S"])),
        kind=str(_text(item, "effect")),
        journey_id=str(_text(item, "journey_id")),
        step_id=str(_text(item, "step_id")),
        detail_type=str(_text(item, "detail_type")),
        detail=_loads(item, "detail", {}),
        created_at=str(_text(item, "created_at")),
        channel=_text(item, "channel"),
        summary=_loads(item, "summary", {}),
        published_at=_text(item, "published_at"),
        delivery=_delivery(item),
    )


def seen_item(profile_id: str, event_id: str, now: datetime) -> dict[str, Any]:
    return {
        **key(customer_pk(profile_id), SEEN_PREFIX + event_id),
        "kind": _s("seen"),
        "expires_at": _n(int((now + SEEN_KEEP).timestamp())),
    }
