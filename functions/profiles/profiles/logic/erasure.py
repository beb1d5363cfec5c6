"""Erasure (GDPR art. 17, KVKK art. 7) of exactly one customer, so that it stays erased.

1. Announce ``profile.erased`` first: every function erases its part on it, and it names the identifiers. If the
   bus refuses, nothing is deleted (the admin retries); if the deletion fails after, a retry announces again
   (same event id: consumers are idempotent) and deletes the rest.
2. Suppress: one-way digests of its identifiers, so a late, replayed or in-flight event carrying them never
   builds a new profile (an admin lifts a suppression when the customer comes back on purpose). Before the
   deletion: an event resolved from now on sees the suppression and has capture erase it (the resolver asks), and
   one resolved before is in a timeline row the next step reads.
3. Name the stored events capture is to erase (``events.erasure_requested``, written to the table for its stream
   to announce): every event of the profile's and its merged profiles' timelines, and every event resolved to
   someone else that carries one of its identifiers (a cross-reference row the resolver left). Capture deletes
   the events that are only the customer's and takes the identifiers out of those that are also someone else's
   (a family tablet's order, a shared phone's message).
4. Delete the profile, every profile merged into it, their identifier items, merge log, conflicts, suggestions,
   timeline rows and cross-references.
5. Other profiles' records of this one (the merge log of a profile it was unmerged from, suggested matches) keep
   their ids and times but none of its identifiers.
"""

from __future__ import annotations

from datetime import datetime

from omnichannel.event_bus import BusEvent, EventPublisher
from omnichannel.identifiers import identifier_digest
from omnichannel.profile_events import PROFILES_SOURCE, ProfileErased, ProfileEventType, profile_event_id
from profiles.logic.ports import ErasureResult, ErasureStore, NotFound


class AlreadyErased(Exception):
    """The profile was erased before (410)."""


class NotAnnounced(Exception):
    """The bus refused ``profile.erased``: nothing was deleted (503; try again)."""


def erase_customer(
    store: ErasureStore, publisher: EventPublisher, profile_id: str, *, requested_by: str, now: datetime
) -> ErasureResult:
    profile = store.get_profile(profile_id)
    if profile is None:
        if store.is_erased(profile_id):
            raise AlreadyErased(profile_id)
        raise NotFound(f"no profile {profile_id}")
    erased = ProfileErased(
        event_id=profile_event_id("erased", profile.profile_id, str(profile.version)),
        occurred_at=now,
        profile_id=profile.profile_id,
        profile_ids=sorted({profile.profile_id} | profile.merged_ids),
        identifiers={kind: sorted(values) for kind, values in profile.identifiers.items()},
    )
    published = publisher.publish(
        [BusEvent(erased.event_id, PROFILES_SOURCE, ProfileEventType.ERASED.value, erased.model_dump(mode="json"))]
    )
    if published.failed:
        raise NotAnnounced(profile.profile_id)
    partners = set(profile.split_from)
    for pid in erased.profile_ids:
        partners |= {suggestion.other_id for suggestion in store.suggestions_of(pid)}
    store.suppress((identifier_digest(*identifier) for identifier in profile.identifier_pairs()), now=now)
    result = store.erase(profile, requested_by=requested_by, now=now)
    result.records_scrubbed = store.scrub_records_of(partners, set(result.profile_ids))
    return result
