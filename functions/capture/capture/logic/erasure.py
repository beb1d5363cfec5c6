"""Erasing a customer from the captured events, exactly: their events go, and events that are also someone
else's (a family tablet's order, a message from a shared phone) stay for that person with the erased customer's
identifiers taken out (``omnichannel.redaction``).

An event is someone else's when one of its other identifiers belongs to a profile that is not being erased.
Identifiers nobody holds (a junk value, one a limit kept out) do not make an event someone else's. No boto3 here:
the events and the profile lookups are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType
from omnichannel.redaction import without_identifiers

Identifier = tuple[IdentifierType, str]


@dataclass
class ErasureDecision:
    delete: list[str] = field(default_factory=list)  # event ids
    redact: list[CanonicalEvent] = field(default_factory=list)  # events as they stay


class ErasableEvents(Protocol):
    def event_ids_carrying(self, identifiers: Sequence[tuple[str, str]]) -> list[str]: ...

    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]: ...

    def delete_events(self, event_ids: Sequence[str]) -> int: ...

    def redact_event(self, event: CanonicalEvent, removed: Iterable[IdentifierType]) -> None: ...


def _identifiers(event: CanonicalEvent) -> set[Identifier]:
    found = {(IdentifierType(kind), value) for kind, value in event.identifiers.items()}
    if event.previous_id:
        found.add((IdentifierType.ANONYMOUS_ID, event.previous_id))
    return found


def decide(
    events: Iterable[CanonicalEvent],
    erased: set[Identifier],
    erased_profiles: set[str],
    owner_of: Callable[[Identifier], str | None],
    *,
    default_region: str = "TR",
) -> ErasureDecision:
    decision = ErasureDecision()
    owners: dict[Identifier, str | None] = {}
    for event in events:
        others = _identifiers(event) - erased
        for identifier in others - owners.keys():
            owners[identifier] = owner_of(identifier)
        if any(owners[identifier] not in (None, *erased_profiles) for identifier in others):
            kept = without_identifiers(
                event, lambda kind, value: (kind, value) not in erased, default_region=default_region
            )
            decision.redact.append(kept)
        else:
            decision.delete.append(event.event_id)
    return decision


def erase_customer_events(
    store: ErasableEvents,
    erased: set[Identifier],
    erased_profiles: set[str],
    owner_of: Callable[[Identifier], str | None],
    *,
    default_region: str = "TR",
) -> ErasureDecision:
    """Delete the erased customer's events, redact the shared ones. Idempotent: a redelivered ``profile.erased``
    finds the deleted events gone and the redacted ones no longer carrying the identifiers."""
    event_ids = store.event_ids_carrying(sorted((kind.value, value) for kind, value in erased))
    decision = decide(store.load_events(event_ids), erased, erased_profiles, owner_of, default_region=default_region)
    store.delete_events(decision.delete)
    for event in decision.redact:
        removed = {kind for kind in IdentifierType if kind.value in {k.value for k, _ in erased}}
        store.redact_event(event, removed)
    return decision
