"""Bus events -> what the KPI logic does with them. Sources: capture (canonical events become facts), journeys
(``Survey Answered`` for an answer the journeys function received itself: a reply or a signed link; the same
canonical event as capture's, counted by the same code), profiles (identity changes), carts (``cart.recovered``).
Everything is idempotent on the event: redelivered, it changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kpis.logic.facts import Fact
from kpis.logic.inputs import UncountableEvent, fact_from_event, fact_from_recovery
from kpis.logic.money import FxRates
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.cart_events import CARTS_SOURCE, CartEventType, CartRecovered
from omnichannel.journey_events import JOURNEYS_SOURCE, SURVEY_ANSWERED
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileErased,
    ProfileEventType,
    ProfileMerged,
    ProfileUpdated,
)

if TYPE_CHECKING:
    from kpis.logic.rollup_service import RollupService


@dataclass(frozen=True)
class Link:
    """``profile.created`` / ``profile.updated``: these identifiers are the profile's."""

    profile_id: str
    identifiers: dict[str, list[str]]


@dataclass(frozen=True)
class Merge:
    survivor_id: str
    merged_id: str
    moved: dict[str, list[str]]


@dataclass(frozen=True)
class Erase:
    profile_ids: list[str]
    identifiers: dict[str, list[str]]


Input = Fact | Link | Merge | Erase | None


def _identifier_lists(identifiers: Any) -> dict[str, list[str]]:
    return {str(kind): list(values) for kind, values in identifiers.items()}


def parse(source: str, detail_type: str, detail: Any, zone: ZoneInfo, fx: FxRates) -> Input:
    """What an event means to the KPIs (None: nothing). Raises :class:`UncountableEvent` (or pydantic's
    ValidationError) for an event that can never be counted."""
    if not isinstance(detail, Mapping):
        raise UncountableEvent("detail: not an object")
    if source == CAPTURE_SOURCE:
        return fact_from_event(CanonicalEvent.model_validate(detail), zone, fx)
    if source == JOURNEYS_SOURCE and detail_type == SURVEY_ANSWERED:
        answer = CanonicalEvent.model_validate(detail)
        return fact_from_event(answer, zone, fx) if answer.name == SURVEY_ANSWERED else None
    if source == CARTS_SOURCE and detail_type == CartEventType.RECOVERED:
        return fact_from_recovery(CartRecovered.model_validate(detail), zone, fx)
    if source == PROFILES_SOURCE:
        if detail_type == ProfileEventType.CREATED:
            created = ProfileCreated.model_validate(detail)
            return Link(created.profile_id, _identifier_lists(created.identifiers))
        if detail_type == ProfileEventType.UPDATED:
            updated = ProfileUpdated.model_validate(detail)
            return Link(updated.profile_id, _identifier_lists(updated.added_identifiers))
        if detail_type == ProfileEventType.MERGED:
            merged = ProfileMerged.model_validate(detail)
            return Merge(merged.survivor_id, merged.merged_id, _identifier_lists(merged.moved_identifiers))
        if detail_type == ProfileEventType.ERASED:
            erased = ProfileErased.model_validate(detail)
            return Erase([erased.profile_id, *erased.profile_ids], _identifier_lists(erased.identifiers))
    return None


def envelope(source: str, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it."""
    return {"version": "0", "id": str(detail.get("event_id", "")), "source": source, "detail-type": detail_type,
            "detail": dict(detail)}  # fmt: skip


def apply(service: RollupService, source: str, detail_type: str, detail: dict[str, Any]) -> str:
    """One event on its own: ``counted``, ``duplicate``, ``ignored``, ``linked``, ``merged`` or ``erased``.
    Raises :class:`UncountableEvent` for an event that can never be counted."""
    result = service.apply_batch([envelope(source, detail_type, detail)])
    if 0 in result.poison:
        raise UncountableEvent(result.poison[0])
    return result.outcomes[0]


__all__ = ["Erase", "Input", "Link", "Merge", "UncountableEvent", "apply", "envelope", "parse"]
