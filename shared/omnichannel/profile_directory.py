"""Read-only lookups into the profiles table for the other functions: which profile an identifier belongs to.

The profiles table keeps one index item per identifier (``pk = ID#<type>#<value>``, ``sk = ID``, attribute
``profile_id``) and one item per profile (``pk = PROFILE#<id>``, ``sk = PROFILE``). A merged profile keeps an
attribute ``merged_into``: the profile it now belongs to. Lookups follow those pointers to the survivor. A
reader needs ``dynamodb:GetItem`` on the profiles table and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from omnichannel.identifiers import IdentifierType

ID_SK = "ID"
PROFILE_SK = "PROFILE"
MAX_POINTER_HOPS = 16


def identifier_pk(kind: IdentifierType | str, value: str) -> str:
    return f"ID#{IdentifierType(kind).value}#{value}"


def profile_pk(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


@dataclass(frozen=True)
class ProfileItemFacts:
    """What a profile item holds for the other functions: identifiers by type (sorted), trait values and when
    the profile recorded each trait."""

    identifiers: dict[str, list[str]]
    traits: dict[str, Any]
    trait_times: dict[str, str]


def profile_item_facts(item: dict[str, Any]) -> ProfileItemFacts:
    """A profile item (low-level attribute values: ``identifiers`` a map of string lists, ``traits`` JSON of
    ``{name: {"v": <JSON>, "at": <time>}}``) read as :class:`ProfileItemFacts`: the one reader of that shape outside
    the profiles function (``docs/profiles-contract.md``)."""
    identifiers = {
        kind: sorted(value["S"] for value in values["L"])
        for kind, values in item.get("identifiers", {}).get("M", {}).items()
    }
    traits: dict[str, Any] = {}
    times: dict[str, str] = {}
    for name, value in json.loads(item.get("traits", {}).get("S", "{}")).items():
        if isinstance(value, dict) and "v" in value:
            traits[name] = json.loads(value["v"])
            times[name] = str(value.get("at") or "")
    return ProfileItemFacts(identifiers, traits, times)


class ProfileDirectory:
    """Which profile owns an identifier, following merge pointers; ``None`` when nobody does."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def profile_of(self, kind: IdentifierType | str, value: str) -> str | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": identifier_pk(kind, value)}, "sk": {"S": ID_SK}},
            ProjectionExpression="profile_id",
        ).get("Item")
        if not item:
            return None
        return self.survivor_of(item["profile_id"]["S"])

    def survivor_of(self, profile_id: str) -> str | None:
        """The profile ``profile_id`` now belongs to (itself unless merged); ``None`` if it was erased."""
        current = profile_id
        for _ in range(MAX_POINTER_HOPS):
            item = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": profile_pk(current)}, "sk": {"S": PROFILE_SK}},
                ProjectionExpression="merged_into",
            ).get("Item")
            if item is None:
                return None
            pointer = item.get("merged_into", {}).get("S")
            if not pointer:
                return current
            current = pointer
        raise RuntimeError(f"merge pointers of {profile_id} go deeper than {MAX_POINTER_HOPS}")
