"""What the cart logic needs from storage and the bus, as protocols (the DynamoDB store implements it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from carts.logic.cart import Cart
from carts.logic.cart_merge import SavedCart
from omnichannel.canonical_event import CanonicalEvent


class WriteConflict(Exception):
    """A conditional write lost to another writer: read again and retry."""


@dataclass(frozen=True)
class CartWrite:
    """Put ``cart`` if the stored item still has ``expected_rev`` (None: if there is no item yet)."""

    cart: Cart
    expected_rev: int | None
    due_at: datetime | None
    expires_at: int | None


@dataclass(frozen=True)
class ProfileMirror:
    """What carts knows of a profile: its identifiers (type, value) and the profile it was merged into."""

    profile_id: str
    identifiers: frozenset[tuple[str, str]]
    merged_into: str | None = None


class CartStore(Protocol):
    def load(self, key: str) -> Cart: ...

    def load_many(self, keys: Sequence[str]) -> dict[str, Cart]: ...

    def save(self, write: CartWrite) -> None: ...

    def save_all(self, writes: Sequence[CartWrite], saved: Sequence[SavedCart], saved_expires_at: int) -> None: ...

    def due_keys(self, shard: int, now: datetime, limit: int) -> list[str]: ...

    def saved_carts(self, home_key: str) -> list[SavedCart]: ...

    def add_profile_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> ProfileMirror: ...

    def remove_profile_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> None: ...

    def profile(self, profile_id: str) -> ProfileMirror | None: ...

    def mark_profile_merged(self, merged_id: str, survivor_id: str) -> None: ...

    def clear_profile_merged(self, profile_id: str) -> None: ...

    def erase(self, cart_keys: Iterable[str], profile_ids: Iterable[str]) -> int: ...

    # "carts follow the customer": identifiers tied to a customer id by verified links, learned from profile events
    def link_identifiers(self, profile_id: str, identifiers: Iterable[tuple[str, str]]) -> None: ...

    def unlink_identifiers(self, identifiers: Iterable[tuple[str, str]]) -> None: ...

    def linked_profiles(self, identifiers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    # events that named no identifier carts knew yet (the profile event teaching it may come after), by identifier
    def park(self, event: CanonicalEvent, identifiers: Iterable[tuple[str, str]], expires_at: int) -> None: ...

    def parked_for(self, identifiers: Iterable[tuple[str, str]]) -> list[CanonicalEvent]: ...

    def unpark(self, event_id: str, identifiers: Iterable[tuple[str, str]]) -> None: ...
