"""What the outbound function reads about a customer in other functions' tables (read-only).

- the profile (ProfilesTable GetItem, through the profile directory's merge pointers): identifiers, and traits
  with the time the profile recorded each;
- the consent replies of the customer's conversations (HandoffTable, ``omnichannel.conversation_consent``);
- for the last look before a store offer goes out, the state of one abandoned cart (CartsTable GetItem; keys as
  docs/carts.md gives them).
"""

from __future__ import annotations

import uuid
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from omnichannel.conversation_consent import ConversationConsent
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_directory import PROFILE_SK, ProfileDirectory, profile_item_facts, profile_pk
from omnichannel.reachability import CustomerFacts
from outbound.store_offers.offer_recheck import CartFacts

CART_SK = "CART"
# carts' public cart id is uuid5(CART_NAMESPACE, "CART#<type>#<value>") (carts.logic.cart.cart_id_of)
CART_NAMESPACE = uuid.UUID("3d0b3c8e-2f57-4a59-9a1c-6f1d0c4f2b7e")
_deserializer = TypeDeserializer()


def profile_facts(profile_id: str, item: dict[str, Any]) -> CustomerFacts:
    """A ProfilesTable item (low-level attribute values): identifiers, traits and when each trait was set."""
    facts = profile_item_facts(item)
    return CustomerFacts(profile_id, facts.identifiers, facts.traits, facts.trait_times)


def _pairs(identifiers: dict[str, list[str]]) -> list[tuple[IdentifierType, str]]:
    return [(IdentifierType(kind), value) for kind, values in sorted(identifiers.items()) for value in values]


class CustomerReader:
    def __init__(self, client: Any, *, profiles_table: str, handoff_table: str) -> None:
        self._client = client
        self._profiles = profiles_table
        self._consent = ConversationConsent(client, handoff_table)
        self.directory = ProfileDirectory(profiles_table, client)

    def profile_of(self, profile_id: str | None, anonymous_id: str | None) -> str | None:
        """The profile behind a cart (followed to its survivor), by its id or else by the device's id."""
        if profile_id:
            return self.directory.survivor_of(profile_id)
        if anonymous_id:
            return self.directory.profile_of(IdentifierType.ANONYMOUS_ID, anonymous_id)
        return None

    def _profile(self, profile_id: str) -> CustomerFacts | None:
        item = self._client.get_item(
            TableName=self._profiles, Key={"pk": {"S": profile_pk(profile_id)}, "sk": {"S": PROFILE_SK}}
        ).get("Item")
        return profile_facts(profile_id, item) if item is not None else None

    def facts(self, profile_id: str) -> CustomerFacts | None:
        profile = self._profile(profile_id)
        if profile is None:
            return None
        replies = self._consent.replies(profile_id, _pairs(profile.identifiers))
        return CustomerFacts(profile_id, profile.identifiers, profile.traits, profile.trait_times, replies)


def cart_id_of(key: str) -> str:
    return str(uuid.uuid5(CART_NAMESPACE, key))


def cart_facts(item: dict[str, Any]) -> CartFacts:
    """A CartsTable item (low-level attribute values) as the offer re-check reads it."""
    cart = {name: _deserializer.deserialize(value) for name, value in item.items()}
    held: dict[str, int] = {}
    for line in cart.get("lines", []):
        sku = str(line.get("sku") or line["product_id"])
        held[sku] = held.get(sku, 0) + int(line["quantity"])
    return CartFacts(
        pointer=bool(cart.get("moved_to")),
        abandoned_episodes=int(cart.get("abandoned_episodes", 0)),
        recovered_episodes=int(cart.get("recovered_episodes", 0)),
        abandoned_at=cart.get("abandoned_at"),
        closed_at=cart.get("closed_at"),
        lines=held,
    )


class CartEpisodeReader:
    """``cart_episode(profile_id, cart_id)``: the cart of that public id among the profile's identifiers (the
    survivor's, if it was merged), read with GetItem; None when the profile is gone or holds no such cart."""

    def __init__(self, client: Any, *, profiles_table: str, carts_table: str) -> None:
        self._client = client
        self._profiles = profiles_table
        self._carts = carts_table
        self.directory = ProfileDirectory(profiles_table, client)

    def cart_episode(self, profile_id: str, cart_id: str) -> CartFacts | None:
        survivor = self.directory.survivor_of(profile_id)
        if survivor is None:
            return None
        item = self._client.get_item(
            TableName=self._profiles, Key={"pk": {"S": profile_pk(survivor)}, "sk": {"S": PROFILE_SK}}
        ).get("Item")
        if item is None:
            return None
        identifiers = profile_facts(survivor, item).identifiers
        for kind in (IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID):
            for value in identifiers.get(kind.value, []):
                key = f"CART#{kind.value}#{value}"
                if cart_id_of(key) == cart_id:
                    cart = self._client.get_item(
                        TableName=self._carts, Key={"pk": {"S": key}, "sk": {"S": CART_SK}}, ConsistentRead=True
                    ).get("Item")
                    return cart_facts(cart) if cart is not None else None
        return None
