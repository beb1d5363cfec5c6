"""Applies captured touchpoints to conversations and follows profile changes (the bus consumer's domain work).

Which profile a contact belongs to is looked up read-only in the profiles table (``ProfileDirectory``). Capture's
events reach profiles and handoff at the same time, so the profile may not be known yet: the conversation is kept
under its contact anyway, and ``profile.created`` / ``profile.updated`` (which list the identifiers they attach)
point it at its profile later. ``profile.merged`` re-homes the merged profile's conversations on the survivor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from handoff.logic.conversations import (
    LINKING_EVENTS,
    Contact,
    Conversation,
    apply_event,
    contact_of,
    link_to_open_case,
)
from omnichannel.canonical_event import CanonicalEvent
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import ProfileCreated, ProfileErased, ProfileMerged, ProfileUnmerged, ProfileUpdated
from omnichannel.retry import RetriesExhausted, attempts

MAX_ATTEMPTS = 8


class TooMuchContention(RetriesExhausted):
    pass


class Directory(Protocol):
    def profile_of(self, kind: IdentifierType | str, value: str) -> str | None: ...


class Store(Protocol):
    def load(self, contact: Contact) -> Conversation: ...
    def save_applied(self, before: Conversation, after: Conversation, event_id: str, expires_at: int) -> bool: ...
    def of_identifier(self, kind: IdentifierType | str, value: str) -> list[Conversation]: ...
    def of_profile(self, profile_id: str) -> list[Conversation]: ...
    def set_profile(self, contact: Contact, profile_id: str, *, only_if: str | None = None) -> bool: ...
    def delete(self, contact: Contact) -> None: ...


@dataclass(frozen=True)
class Applied:
    outcome: str  # "applied" | "duplicate"
    conversation: Conversation


@dataclass
class ConversationService:
    store: Store
    directory: Directory
    clock: Callable[[], datetime]
    conflict: type[Exception]
    dedupe_window: timedelta = timedelta(hours=72)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def profile_for(self, event: CanonicalEvent, contact: Contact) -> str | None:
        """The contact's profile first, then any other identifier's (a call may carry only the phone)."""
        ordered = [(contact.kind, contact.value)] + [
            (kind, value) for kind, value in sorted(event.identifiers.items()) if kind != contact.kind
        ]
        for kind, value in ordered:
            profile_id = self.directory.profile_of(kind, value)
            if profile_id:
                return profile_id
        return None

    def apply(self, event: CanonicalEvent) -> Applied:
        contact = contact_of(event)
        profile_id = self.profile_for(event, contact)
        expires_at = int((self.clock() + self.dedupe_window).timestamp())
        # A call continues the customer's open case on another channel (implicit handoff): read their cases once.
        others = self.store.of_profile(profile_id) if profile_id and event.name in LINKING_EVENTS else []
        for _attempt in attempts(MAX_ATTEMPTS, base=0.01, cap=0.5, sleep=self.sleep):
            before = self.store.load(contact)
            after = link_to_open_case(before, apply_event(before, event, profile_id), event, others)
            try:
                if not self.store.save_applied(before, after, event.event_id, expires_at):
                    return Applied("duplicate", before)
            except self.conflict:
                continue
            return Applied("applied", after)
        raise TooMuchContention(f"conversation kept changing for {MAX_ATTEMPTS} attempts")

    def _attach(self, identifiers: Iterable[tuple[IdentifierType, str]], profile_id: str) -> int:
        moved = 0
        for kind, value in identifiers:
            for conversation in self.store.of_identifier(kind, value):
                if conversation.profile_id != profile_id:
                    moved += self.store.set_profile(conversation.contact, profile_id)
        return moved

    def profile_created(self, event: ProfileCreated) -> int:
        return self._attach(_pairs(event.identifiers), event.profile_id)

    def profile_updated(self, event: ProfileUpdated) -> int:
        return self._attach(_pairs(event.added_identifiers), event.profile_id)

    def profile_merged(self, event: ProfileMerged) -> int:
        moved = 0
        for conversation in self.store.of_profile(event.merged_id):
            moved += self.store.set_profile(conversation.contact, event.survivor_id, only_if=event.merged_id)
        return moved + self._attach(_pairs(event.moved_identifiers), event.survivor_id)

    def profile_unmerged(self, event: ProfileUnmerged) -> int:
        return self._attach(_pairs(event.restored_identifiers), event.restored_id)

    def profile_erased(self, event: ProfileErased) -> int:
        """Delete every conversation of the erased profiles and of their identifiers (found both ways)."""
        found: dict[Contact, Conversation] = {}
        for profile_id in sorted({event.profile_id, *event.profile_ids}):
            found.update((conversation.contact, conversation) for conversation in self.store.of_profile(profile_id))
        for kind, value in _pairs(event.identifiers):
            found.update((conversation.contact, conversation) for conversation in self.store.of_identifier(kind, value))
        for contact in found:
            self.store.delete(contact)
        return len(found)


def _pairs(identifiers: dict[IdentifierType, list[str]]) -> list[tuple[IdentifierType, str]]:
    return [(kind, value) for kind, values in sorted(identifiers.items()) for value in sorted(values)]
