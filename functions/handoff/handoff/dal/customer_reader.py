"""What the online-to-store decision needs to know about a customer, read-only: the profile's identifiers and
traits with their times (ProfilesTable GetItem, through the profile directory's merge pointers) and the consent
each of their conversations recorded (HandoffTable, the conversation items)."""

from __future__ import annotations

from typing import Any

from handoff.dal.context_reader import profile_from_item
from handoff.dal.conversation_store import ConversationStore
from handoff.logic.customer_facts import CustomerFacts
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_directory import PROFILE_SK, ProfileDirectory, profile_pk


class CustomerReader:
    def __init__(self, client: Any, *, profiles_table: str, conversations: ConversationStore) -> None:
        self._client = client
        self._profiles = profiles_table
        self._conversations = conversations
        self.directory = ProfileDirectory(profiles_table, client)

    def profile_of(self, profile_id: str | None, anonymous_id: str | None) -> str | None:
        """The profile behind a cart (followed to its survivor), by its id or else by the device's id."""
        if profile_id:
            return self.directory.survivor_of(profile_id)
        if anonymous_id:
            return self.directory.profile_of(IdentifierType.ANONYMOUS_ID, anonymous_id)
        return None

    def facts(self, profile_id: str) -> CustomerFacts | None:
        item = self._client.get_item(
            TableName=self._profiles, Key={"pk": {"S": profile_pk(profile_id)}, "sk": {"S": PROFILE_SK}}
        ).get("Item")
        if item is None:
            return None
        profile = profile_from_item(profile_id, item)
        found = {conversation.contact: conversation for conversation in self._conversations.of_profile(profile_id)}
        for kind, value in profile.pairs():
            found.update((c.contact, c) for c in self._conversations.of_identifier(kind, value))
        return CustomerFacts(profile_id, profile.identifiers, profile.traits, profile.trait_times, list(found.values()))
