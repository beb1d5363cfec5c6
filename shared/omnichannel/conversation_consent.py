"""The consent replies (``START`` / ``STOP``) of a customer's conversations, read-only from the handoff table.

The handoff function folds inbound messages into conversations (``handoff.dal.conversation_store``) and records
on each the consent its customer last stated; the outbound function reads them here before it writes to the
customer (a STOP on WhatsApp is honoured by a store offer). The key shape is defined here once and used by both.

| item | pk | sk | read |
|---|---|---|---|
| conversation | ``CONTACT#<type>#<value>`` | ``CONV#<channel>`` | ``consent``, ``consent_at`` |

A profile's conversations are one Query on the sparse ``by_profile`` GSI (``profile_sk`` ``CONV#...``); a
contact's (an identifier the profile holds, before the conversation learnt its profile) one Query on its ``pk``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omnichannel.canonical_event import Channel
from omnichannel.identifiers import IdentifierType
from omnichannel.reachability import ConsentReply

CONV_SK_PREFIX = "CONV#"
BY_PROFILE = "by_profile"
OPTED_IN = "opted_in"


def contact_pk(kind: IdentifierType | str, value: str) -> str:
    return f"CONTACT#{IdentifierType(kind).value}#{value}"


def reply_from_item(item: dict[str, Any]) -> ConsentReply | None:
    consent = item.get("consent", {}).get("S")
    at = item.get("consent_at", {}).get("S")
    if not consent or not at:
        return None
    return ConsentReply(Channel(item["sk"]["S"].removeprefix(CONV_SK_PREFIX)), consent == OPTED_IN, at)


class ConversationConsent:
    def __init__(self, client: Any, handoff_table: str) -> None:
        self._client = client
        self._table = handoff_table

    def _query(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def replies(self, profile_id: str, identifiers: Iterable[tuple[IdentifierType, str]]) -> list[ConsentReply]:
        """The consent replies of the profile's conversations and of its identifiers' (one per conversation)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        projection = {
            "ProjectionExpression": "pk, sk, consent, consent_at",
        }
        for item in self._query(
            {
                "TableName": self._table,
                "IndexName": BY_PROFILE,
                "KeyConditionExpression": "profile_id = :id AND begins_with(profile_sk, :conv)",
                "ExpressionAttributeValues": {":id": {"S": profile_id}, ":conv": {"S": CONV_SK_PREFIX}},
                **projection,
            }
        ):
            found[(item["pk"]["S"], item["sk"]["S"])] = item
        for kind, value in identifiers:
            for item in self._query(
                {
                    "TableName": self._table,
                    "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conv)",
                    "ExpressionAttributeValues": {
                        ":pk": {"S": contact_pk(kind, value)},
                        ":conv": {"S": CONV_SK_PREFIX},
                    },
                    **projection,
                }
            ):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
        return [reply for reply in (reply_from_item(item) for _, item in sorted(found.items())) if reply is not None]
