"""Taking a person's identifiers out of a stored event, wherever a touchpoint can carry them: the identifiers, an
alias's ``previous_id``, identifier traits (``traits``, ``context.traits``, a track call's ``properties.email``)
and ``context.externalIds``. Shared by the timeline (another profile's identifiers never show in this one's) and
capture's erasure (an erased customer's identifiers leave the events that stay for someone else)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import TRAIT_IDENTIFIERS, IdentifierType, InvalidIdentifier, normalize

Keep = Callable[[IdentifierType, str], bool]
_EXTERNAL_TYPES = {kind.value: kind for kind in IdentifierType} | {
    "loyaltyCard": IdentifierType.LOYALTY_CARD,
    "posCustomerId": IdentifierType.POS_CUSTOMER,
    "phone_number": IdentifierType.PHONE,
}


def _kept(kind: IdentifierType, value: Any, keep: Keep, region: str) -> bool:
    try:
        return keep(kind, normalize(kind, value, default_region=region))
    except InvalidIdentifier:
        return True  # not an identifier at all: nothing of anyone's to take out


def _bag(bag: Mapping[str, Any], keep: Keep, region: str) -> dict[str, Any]:
    return {
        name: value
        for name, value in bag.items()
        if name not in TRAIT_IDENTIFIERS or _kept(TRAIT_IDENTIFIERS[name], value, keep, region)
    }


def _context(context: Mapping[str, Any], keep: Keep, region: str) -> dict[str, Any]:
    cleaned = dict(context)
    if isinstance(context.get("traits"), Mapping):
        cleaned["traits"] = _bag(context["traits"], keep, region)
    external = context.get("externalIds")
    if isinstance(external, list):
        cleaned["externalIds"] = [
            entry
            for entry in external
            if not (isinstance(entry, Mapping) and entry.get("type") in _EXTERNAL_TYPES)
            or _kept(_EXTERNAL_TYPES[entry["type"]], entry.get("id"), keep, region)
        ]
    return cleaned


def without_identifiers(event: CanonicalEvent, keep: Keep, *, default_region: str = "TR") -> CanonicalEvent:
    """``event`` with every identifier ``keep`` refuses taken out (the same event when nothing goes)."""
    identifiers = {kind: value for kind, value in event.identifiers.items() if keep(IdentifierType(kind), value)}
    previous = event.previous_id
    if previous is not None and not keep(IdentifierType.ANONYMOUS_ID, previous):
        previous = None
    update: dict[str, Any] = {
        "identifiers": identifiers,
        "previous_id": previous,
        "traits": _bag(event.traits, keep, default_region),
        "context": _context(event.context, keep, default_region),
        "properties": _bag(event.properties, keep, default_region),
    }
    changed = {name: value for name, value in update.items() if getattr(event, name) != value}
    return event.model_copy(update=changed) if changed else event
