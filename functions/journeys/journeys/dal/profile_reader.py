"""The profiles function's table, read-only (``dynamodb:GetItem``): which profile holds an identifier (through
``omnichannel.profile_directory``'s merge pointers) and the profile's identifiers and traits, each trait with the
time the profile recorded it (the item shape ``docs/profiles-contract.md`` and handoff's reader know)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.models.state import Profile
from omnichannel.profile_directory import PROFILE_SK, ProfileDirectory, profile_item_facts, profile_pk


def profile_from_item(profile_id: str, item: dict[str, Any]) -> Profile:
    facts = profile_item_facts(item)
    return Profile(profile_id, facts.identifiers, facts.traits, facts.trait_times)


class ProfileReader:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self._directory = ProfileDirectory(table, client)

    def profile_of(self, identifiers: Mapping[str, str]) -> str | None:
        for kind, value in identifiers.items():
            found = self._directory.profile_of(kind, value)
            if found is not None:
                return found
        return None

    def survivor_of(self, profile_id: str) -> str | None:
        return self._directory.survivor_of(profile_id)

    def profile(self, profile_id: str) -> Profile | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": profile_pk(profile_id)}, "sk": {"S": PROFILE_SK}}
        ).get("Item")
        return profile_from_item(profile_id, item) if item else None
