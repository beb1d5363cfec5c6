"""Read-only lookups the agent context needs in other functions' tables: the profile (ProfilesTable GetItem),
its cart (CartsTable GetItem; keys as docs/carts.md gives them), with a bounded timeline page beside them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from omnichannel.identifiers import IdentifierType
from omnichannel.profile_directory import PROFILE_SK, ProfileDirectory, profile_item_facts, profile_pk
from omnichannel.timeline_reader import TimelineOwner

CART_SK = "CART"
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class ProfileSnapshot:
    profile_id: str
    identifiers: dict[str, list[str]]
    traits: dict[str, Any] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)
    created_at: str | None = None
    last_seen_at: str | None = None
    trait_times: dict[str, str] = field(default_factory=dict)  # trait -> when the profile recorded it
    merged_spans: dict[str, str] = field(default_factory=dict)  # merged profile -> its timeline's latest time

    def pairs(self) -> list[tuple[IdentifierType, str]]:
        return [(IdentifierType(kind), value) for kind, values in sorted(self.identifiers.items()) for value in values]

    def timeline_owner(self) -> TimelineOwner:
        """Whose timeline, as the shared reader wants it (staff view: every event of the profile)."""
        return TimelineOwner(self.profile_id, self.merged_spans, frozenset(self.pairs()))


def profile_from_item(profile_id: str, item: dict[str, Any]) -> ProfileSnapshot:
    """A profile item of ProfilesTable (low-level attribute values) as the handoff function reads it: identifiers,
    traits with the time each was set, channels. The one place that knows the profiles function's item shape."""
    facts = profile_item_facts(item)
    identifiers, traits, times = facts.identifiers, facts.traits, facts.trait_times
    return ProfileSnapshot(
        profile_id=profile_id,
        identifiers=identifiers,
        traits=traits,
        channels=sorted(value["S"] for value in item.get("channels", {}).get("L", [])),
        created_at=item.get("created_at", {}).get("S"),
        last_seen_at=item.get("last_seen_at", {}).get("S"),
        trait_times=times,
        merged_spans=json.loads(item["merged_spans"]["S"]) if "merged_spans" in item else {},
    )


class ContextReader:
    def __init__(self, client: Any, *, profiles_table: str, carts_table: str) -> None:
        self._client = client
        self._profiles = profiles_table
        self._carts = carts_table
        self.directory = ProfileDirectory(profiles_table, client)

    def profile(self, profile_id: str) -> ProfileSnapshot | None:
        """The profile (followed to its survivor if merged), or None if unknown or erased."""
        survivor = self.directory.survivor_of(profile_id)
        if survivor is None:
            return None
        item = self._client.get_item(
            TableName=self._profiles, Key={"pk": {"S": profile_pk(survivor)}, "sk": {"S": PROFILE_SK}}
        ).get("Item")
        if item is None:
            return None
        return profile_from_item(survivor, item)

    def cart(self, profile: ProfileSnapshot) -> dict[str, Any] | None:
        """The profile's cart at its home (smallest user_id, else smallest anonymous_id), following a pointer."""
        home = None
        for kind in (IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID):
            values = profile.identifiers.get(kind.value)
            if values:
                home = f"CART#{kind.value}#{min(values)}"
                break
        for _ in range(2):
            if home is None:
                return None
            item = self._client.get_item(TableName=self._carts, Key={"pk": {"S": home}, "sk": {"S": CART_SK}}).get(
                "Item"
            )
            if item is None:
                return None
            cart = {name: _deserializer.deserialize(value) for name, value in item.items()}
            if not cart.get("moved_to"):
                return _cart_view(cart)
            home = str(cart["moved_to"])
        return None


def _cart_view(cart: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {
            "product_id": line["product_id"],
            "name": line.get("name"),
            "quantity": int(line["quantity"]),
            "unit_price": str(Decimal(line["unit_price"])),
        }
        for line in cart.get("lines", [])
    ]
    total = sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal(0))
    return {
        "cart_id": cart.get("cart_id"),
        "version": int(cart.get("version", 0)),
        "currency": cart.get("currency"),
        "lines": lines,
        "total": str(total),
        "last_activity_at": cart.get("last_activity_at"),
    }
