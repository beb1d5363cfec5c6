"""One bus event -> the right change of the KPI table. Sources: capture (canonical events), profiles (identity),
carts (``cart.recovered``). Everything is idempotent on the event: redelivered, it changes nothing."""

from __future__ import annotations

from typing import Any

from kpis.logic.inputs import UncountableEvent, fact_from_event, fact_from_recovery
from kpis.logic.rollup_service import RollupService
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from omnichannel.cart_events import CARTS_SOURCE, CartEventType, CartRecovered
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileErased,
    ProfileEventType,
    ProfileMerged,
    ProfileUpdated,
)


def _identifier_lists(identifiers: Any) -> dict[str, list[str]]:
    return {str(kind): list(values) for kind, values in identifiers.items()}


def apply(service: RollupService, source: str, detail_type: str, detail: dict[str, Any]) -> str:
    """What happened: ``counted``, ``duplicate``, ``ignored``, ``linked``, ``merged`` or ``erased``.
    Raises :class:`UncountableEvent` (or pydantic's ValidationError) for an event that can never be counted."""
    config = service.config
    if source == CAPTURE_SOURCE:
        fact = fact_from_event(CanonicalEvent.model_validate(detail), config.zone, config.fx)
        if fact is None:
            return "ignored"
        return "counted" if service.record(fact) else "duplicate"
    if source == CARTS_SOURCE and detail_type == CartEventType.RECOVERED:
        recovered = fact_from_recovery(CartRecovered.model_validate(detail), config.zone, config.fx)
        return "counted" if service.record(recovered) else "duplicate"
    if source == PROFILES_SOURCE:
        if detail_type == ProfileEventType.CREATED:
            created = ProfileCreated.model_validate(detail)
            service.link(created.profile_id, _identifier_lists(created.identifiers))
            return "linked"
        if detail_type == ProfileEventType.UPDATED:
            updated = ProfileUpdated.model_validate(detail)
            service.link(updated.profile_id, _identifier_lists(updated.added_identifiers))
            return "linked"
        if detail_type == ProfileEventType.MERGED:
            merged = ProfileMerged.model_validate(detail)
            service.merge(merged.survivor_id, merged.merged_id, _identifier_lists(merged.moved_identifiers))
            return "merged"
        if detail_type == ProfileEventType.ERASED:
            erased = ProfileErased.model_validate(detail)
            service.erase([erased.profile_id, *erased.profile_ids], _identifier_lists(erased.identifiers))
            return "erased"
    return "ignored"


__all__ = ["UncountableEvent", "apply"]
