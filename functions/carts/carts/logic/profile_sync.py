"""Profile events from the profiles function turned into one cart per profile.

Carts keeps its own record of each profile's identifiers (from ``profile.created`` identifiers,
``profile.updated`` added identifiers, ``profile.merged`` moved identifiers), so it needs no read of the profiles
table: the events carry what it needs. After each event it *consolidates* the profile: every cart of its
``user_id`` and ``anonymous_id`` keys is merged into the home cart (``cart_merge``) and becomes a pointer to it,
in one transaction conditioned on every item's ``rev``; a lost race reads again and plans again.

Idempotent without a dedupe record: identifiers are added to a set, and a consolidated profile has only pointers
left, so a redelivered event plans nothing. Deterministic: the plan depends only on the carts, not on the order
the events came in.

- ``profile.unmerged``: the restored profile takes its identifiers back; its keys stop pointing at the survivor's
  cart (the lines stay with the survivor: a merged cart cannot be split).
- ``profile.erased``: the carts of every identifier of the event and of the profiles (with their saved carts) and
  carts' own records of those profiles are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from carts.logic.cart import OwnerKind, cart_id_of
from carts.logic.cart_merge import MergedFrom, cart_keys, home_key, plan_consolidation
from carts.logic.cart_service import CartService, bus_event, cart_event_id
from carts.logic.ports import WriteConflict
from omnichannel.cart_events import CartEventType, CartMerged
from omnichannel.event_bus import BusEvent
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import (
    ProfileCreated,
    ProfileErased,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
)

CART_IDENTIFIERS = (OwnerKind.USER_ID.value, OwnerKind.ANONYMOUS_ID.value)


@dataclass
class SyncResult:
    merged: list[MergedFrom] = field(default_factory=list)
    home: str | None = None
    writes: int = 0
    deleted: int = 0


def pairs(
    identifiers: Mapping[IdentifierType, Iterable[str]] | Mapping[str, Iterable[str]], *, only_carts: bool = True
) -> set[tuple[str, str]]:
    return {
        (str(kind), value)
        for kind, values in identifiers.items()
        if not only_carts or str(kind) in CART_IDENTIFIERS
        for value in values
    }


class ProfileSync:
    def __init__(self, service: CartService) -> None:
        self.service = service
        self.store = service.store

    # ------------------------------------------------------------------ events
    def created(self, event: ProfileCreated) -> SyncResult:
        return self._attach(event.profile_id, pairs(event.identifiers))

    def updated(self, event: ProfileUpdated) -> SyncResult:
        added = pairs(event.added_identifiers)
        if not added:
            return SyncResult()  # traits or identifiers carts does not key on: nothing to do
        return self._attach(event.profile_id, added)

    def merged(self, event: ProfileMerged) -> SyncResult:
        merged = self.store.profile(event.merged_id)
        identifiers = pairs(event.moved_identifiers) | (set(merged.identifiers) if merged else set())
        self.store.mark_profile_merged(event.merged_id, event.survivor_id)
        return self._attach(event.survivor_id, identifiers)

    def unmerged(self, event: ProfileUnmerged) -> SyncResult:
        restored = pairs(event.restored_identifiers)
        self.store.remove_profile_identifiers(event.survivor_id, restored)
        self.store.clear_profile_merged(event.restored_id)
        return self._attach(event.restored_id, restored)

    def erased(self, event: ProfileErased) -> SyncResult:
        identifiers = pairs(event.identifiers)
        for profile_id in event.profile_ids or [event.profile_id]:
            mirror = self.store.profile(profile_id)
            if mirror is not None:
                identifiers |= {pair for pair in mirror.identifiers if pair[0] in CART_IDENTIFIERS}
        profile_ids = {event.profile_id, *event.profile_ids}
        return SyncResult(deleted=self.store.erase(cart_keys(identifiers), profile_ids))

    # ------------------------------------------------------------------ consolidation
    def _attach(self, profile_id: str, identifiers: set[tuple[str, str]]) -> SyncResult:
        mirror = self.store.add_profile_identifiers(profile_id, identifiers)
        if mirror.merged_into:
            # A late event for a profile merged since: its identifiers belong to the survivor now.
            self.store.add_profile_identifiers(mirror.merged_into, mirror.identifiers)
            return self.consolidate(mirror.merged_into)
        return self.consolidate(profile_id)

    def consolidate(self, profile_id: str) -> SyncResult:
        """One cart for the profile: merge its carts into the home cart, point every other key at it."""
        rules = self.service.rules
        for _attempt in self.service.attempts():
            mirror = self.store.profile(profile_id)
            if mirror is None:
                return SyncResult()
            home = home_key(mirror.identifiers)
            if home is None:
                return SyncResult()
            keys = cart_keys(mirror.identifiers)
            carts = self.store.load_many([home, *keys])
            plan = plan_consolidation(
                carts[home],
                [carts[key] for key in keys if key != home],
                mode=rules.mode,
                limits=rules.limits,
                profile_id=profile_id,
            )
            if not plan.changes_anything:
                return SyncResult(home=home)
            writes = []
            if plan.home_changed:
                writes.append(self.service.write_of(plan.home, carts[home], channel=plan.home.last_channel))
            writes += [self.service.write_of(pointer, carts[pointer.key]) for pointer in plan.pointers]
            now = self.service.clock()
            home_cart = writes[0].cart if plan.home_changed else carts[home]
            merged_events: list[BusEvent] = []
            for merged in plan.merged:
                from_id = cart_id_of(merged.from_key)
                detail = CartMerged(
                    event_id=cart_event_id(home_cart.cart_id, "merged", from_id, str(merged.from_version)),
                    occurred_at=now,
                    cart_id=home_cart.cart_id,
                    profile_id=profile_id,
                    from_cart_id=from_id,
                    mode=rules.mode,
                    version=home_cart.version,
                    kept_as_saved=merged.saved,
                )
                merged_events.append(bus_event(CartEventType.MERGED, detail.model_dump(mode="json")))
            if merged_events and writes:  # announced by the merge's own transaction (its first write's outbox)
                writes[0] = replace(writes[0], announce=(*writes[0].announce, *merged_events))
            try:
                self.store.save_all(writes, plan.saved, int((now + rules.saved_ttl).timestamp()))
            except WriteConflict:
                continue
            return SyncResult(merged=plan.merged, home=home, writes=len(writes))
        raise WriteConflict(f"profile {profile_id}: every attempt lost the race")
