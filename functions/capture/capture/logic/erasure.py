"""Erasing a customer from the captured events, exactly: their events go, and events that are also someone
else's (a family tablet's order, a message from a shared phone) stay for that person with the erased customer's
identifiers taken out (``omnichannel.redaction``).

The profiles function names the events (``events.erasure_requested``: every stored event carrying one of the
erased identifiers, from its timeline rows and cross-references) and the identifiers, as one-way digests; this
reads the events by key and decides. An event is someone else's when one of its other identifiers belongs to a
profile that is not being erased. Identifiers nobody holds (a junk value, one a limit kept out) do not make an event
someone else's. An event that carries none of the erased identifiers (already deleted or redacted: a redelivery) is
left alone. No boto3 here: the events and the profile lookups are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType, identifier_digest
from omnichannel.redaction import without_identifiers

Identifier = tuple[IdentifierType, str]


@dataclass
class ErasureDecision:
    delete: list[str] = field(default_factory=list)  # event ids
    redact: list[CanonicalEvent] = field(default_factory=list)  # events as they stay
    untouched: int = 0  # events carrying none of the erased identifiers (or gone already)


class ErasableEvents(Protocol):
    def load_events(self, event_ids: Sequence[str]) -> list[CanonicalEvent]: ...

    def delete_events(self, event_ids: Sequence[str]) -> int: ...

    def redact_event(self, event: CanonicalEvent) -> None: ...


def _identifiers(event: CanonicalEvent) -> set[Identifier]:
    found = {(IdentifierType(kind), value) for kind, value in event.identifiers.items()}
    if event.previous_id:
        found.add((IdentifierType.ANONYMOUS_ID, event.previous_id))
    return found


def decide(
    events: Iterable[CanonicalEvent],
    erased: Collection[str],
    erased_profiles: set[str],
    owner_of: Callable[[Identifier], str | None],
    *,
    default_region: str = "TR",
) -> ErasureDecision:
    """``erased``: the digests of the erased identifiers (``identifier_digest``)."""
    decision = ErasureDecision()
    owners: dict[Identifier, str | None] = {}

    def is_erased(kind: IdentifierType, value: str) -> bool:
        return identifier_digest(kind, value) in erased

    for event in events:
        carried = _identifiers(event)
        others = {identifier for identifier in carried if not is_erased(*identifier)}
        if others == carried:
            decision.untouched += 1
            continue
        for identifier in others - owners.keys():
            owners[identifier] = owner_of(identifier)
        if any(owners[identifier] not in (None, *erased_profiles) for identifier in others):
            kept = without_identifiers(
                event, lambda kind, value: not is_erased(kind, value), default_region=default_region
            )
            decision.redact.append(kept)
        else:
            decision.delete.append(event.event_id)
    return decision


def erase_customer_events(
    store: ErasableEvents,
    event_ids: Sequence[str],
    erased: Collection[str],
    erased_profiles: set[str],
    owner_of: Callable[[Identifier], str | None],
    *,
    default_region: str = "TR",
) -> ErasureDecision:
    """Delete the erased customer's events among ``event_ids``, redact the shared ones. Idempotent: a redelivered
    request finds the deleted events gone and the redacted ones no longer carrying the identifiers."""
    events = store.load_events(event_ids)
    decision = decide(events, set(erased), erased_profiles, owner_of, default_region=default_region)
    decision.untouched += len(set(event_ids)) - len(events)
    store.delete_events(decision.delete)
    for event in decision.redact:
        store.redact_event(event)
    return decision
