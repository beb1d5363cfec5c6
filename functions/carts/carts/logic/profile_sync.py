"""Profile events from the profiles function: what carts knows of each customer, so that their cart follows them.

Carts keeps its own record of each profile (``PROFILE#``: its ``user_id`` and ``anonymous_id`` identifiers, and
``merged_into``) and, for the identifiers tied to a customer id **by verified links only** (the profile events'
``verified_identifiers`` / ``verified_added``: a loyalty card the store saw with the customer's proven e-mail, the
WhatsApp number Meta vouches for), a ``LINK#`` record to the profile. An order from the store or a message on
WhatsApp then reaches that customer's cart (``commerce_events``). Identifiers only a client write key asserted are
never learned, and no profile event ever makes one cart point to another: a device's cart joins the customer's
only at sign-in, with the device's credential (``sign_in``).

Idempotent without a dedupe record: identifiers are added to sets and links overwritten with the same value.

- ``profile.created`` / ``profile.updated``: record the identifiers, learn the verified links, then apply the
  events parked under those identifiers (a store order usually reaches carts before the profile event it causes).
- ``profile.merged``: the merged profile's record points to the survivor (its links are followed there).
- ``profile.unmerged``: the restored identifiers leave the survivor's record; their links point to the restored
  profile again.
- ``profile.erased``: the carts of every identifier of the event and of the profiles (with their saved carts),
  carts' records of those profiles and every link of those identifiers are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from carts.logic.cart import OwnerKind, cart_key
from carts.logic.cart_merge import MergedFrom, cart_keys, home_key
from carts.logic.cart_service import CartService
from carts.logic.commerce_events import FOLLOWING_TYPES, Applied, Owner, apply_to
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import (
    ProfileCreated,
    ProfileErased,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
)

CART_IDENTIFIERS = (OwnerKind.USER_ID.value, OwnerKind.ANONYMOUS_ID.value)
_FOLLOWING = tuple(kind.value for kind in FOLLOWING_TYPES)


@dataclass
class SyncResult:
    merged: list[MergedFrom] = field(default_factory=list)
    home: str | None = None
    writes: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    linked: int = 0
    applied: list[Applied] = field(default_factory=list)


def pairs(
    identifiers: Mapping[IdentifierType, Iterable[str]] | Mapping[str, Iterable[str]],
    *,
    only: tuple[str, ...] | None = CART_IDENTIFIERS,
) -> set[tuple[str, str]]:
    return {
        (str(kind), value)
        for kind, values in identifiers.items()
        if only is None or str(kind) in only
        for value in values
    }


class ProfileSync:
    def __init__(self, service: CartService) -> None:
        self.service = service
        self.store = service.store

    def created(self, event: ProfileCreated) -> SyncResult:
        return self._learn(event.profile_id, pairs(event.identifiers), event.verified_identifiers)

    def updated(self, event: ProfileUpdated) -> SyncResult:
        return self._learn(event.profile_id, pairs(event.added_identifiers), event.verified_added)

    def merged(self, event: ProfileMerged) -> SyncResult:
        merged = self.store.profile(event.merged_id)
        identifiers = pairs(event.moved_identifiers) | (set(merged.identifiers) if merged else set())
        self.store.mark_profile_merged(event.merged_id, event.survivor_id)
        mirror = self.store.add_profile_identifiers(event.survivor_id, identifiers)
        return SyncResult(home=self._label(event.survivor_id, mirror.identifiers))

    def unmerged(self, event: ProfileUnmerged) -> SyncResult:
        restored = pairs(event.restored_identifiers)
        self.store.remove_profile_identifiers(event.survivor_id, restored)
        self.store.clear_profile_merged(event.restored_id)
        mirror = self.store.add_profile_identifiers(event.restored_id, restored)
        following = pairs(event.restored_identifiers, only=_FOLLOWING)
        linked = self.store.linked_profiles(sorted(following))
        self.store.link_identifiers(event.restored_id, linked)  # only those that were verified links already
        return SyncResult(home=self._label(event.restored_id, mirror.identifiers), linked=len(linked))

    def erased(self, event: ProfileErased) -> SyncResult:
        identifiers = pairs(event.identifiers)
        for profile_id in event.profile_ids or [event.profile_id]:
            mirror = self.store.profile(profile_id)
            if mirror is not None:
                identifiers |= {pair for pair in mirror.identifiers if pair[0] in CART_IDENTIFIERS}
        self.store.unlink_identifiers(pairs(event.identifiers, only=_FOLLOWING))
        profile_ids = {event.profile_id, *event.profile_ids}
        return SyncResult(deleted=self.store.erase(cart_keys(identifiers), profile_ids))

    def _label(self, profile_id: str, identifiers: frozenset[tuple[str, str]]) -> str | None:
        """The profile's own cart (its customer id's, else its first device's) carries its profile id."""
        home = home_key(identifiers)
        if home is not None:
            self.service.label(home, profile_id)
        return home

    def _learn(
        self,
        profile_id: str,
        identifiers: set[tuple[str, str]],
        verified: Mapping[IdentifierType, Iterable[str]],
    ) -> SyncResult:
        mirror = self.store.add_profile_identifiers(profile_id, identifiers)
        owner = profile_id
        if mirror.merged_into:
            # A late event for a profile merged since: its identifiers belong to the survivor now.
            owner = mirror.merged_into
            mirror = self.store.add_profile_identifiers(owner, mirror.identifiers)
        links = pairs(verified, only=_FOLLOWING)
        if links:
            self.store.link_identifiers(profile_id, links)
        self._label(owner, mirror.identifiers)
        users = sorted(value for kind, value in mirror.identifiers if kind == OwnerKind.USER_ID)
        home = cart_key(OwnerKind.USER_ID, users[0]) if users else None  # the customer's cart (none for a guest)
        result = SyncResult(home=home, linked=len(links))
        if links and home is not None:
            # Events that named these identifiers before carts knew whose they were (the store order that taught
            # the link usually reaches carts first): they are this customer's.
            for parked in self.store.parked_for(links):
                result.applied.append(apply_to(self.service, parked, Owner(home, followed=True)))
                self.store.unpark(parked.event_id, links)
        return result
