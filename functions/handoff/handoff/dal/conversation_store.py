"""Conversations in the handoff table (all DynamoDB access for them; low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| conversation | ``CONTACT#<type>#<value>`` | ``CONV#<channel>`` | case state, last message, assignee, consent, rev |
| applied event | ``EVENT#<event_id>`` | ``APPLIED`` | idempotency: written in the same transaction (TTL) |

GSI ``by_profile`` (``profile_id``, ``profile_sk``): a profile's conversations (``CONV#<conversation_id>``) in
one Query; sparse, only items that know their profile are in it. One contact's conversations on every channel
are one Query on its ``pk``. The key shape is ``omnichannel.conversation_consent``'s (the outbound function reads each
conversation's consent there).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from handoff.logic.conversations import CaseState, Consent, Contact, Conversation, LastMessage, conversation_id_of
from omnichannel.canonical_event import Channel
from omnichannel.conversation_consent import BY_PROFILE, CONV_SK_PREFIX, contact_pk
from omnichannel.dynamodb import cancellation_codes, condition_failed
from omnichannel.identifiers import IdentifierType

APPLIED_SK = "APPLIED"


class WriteConflict(RuntimeError):
    """Someone else changed the conversation since it was read: read again and re-apply."""


def event_pk(event_id: str) -> str:
    return f"EVENT#{event_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def conversation_item(conversation: Conversation) -> dict[str, Any]:
    contact = conversation.contact
    item: dict[str, Any] = {
        "pk": _s(contact_pk(contact.kind, contact.value)),
        "sk": _s(CONV_SK_PREFIX + contact.channel.value),
        "kind": _s("conversation"),
        "conversation_id": _s(conversation.conversation_id),
        "rev": {"N": str(conversation.rev)},
        "state": _s(conversation.state.value),
        "message_count": {"N": str(conversation.message_count)},
    }
    optional: dict[str, str | None] = {
        "profile_id": conversation.profile_id,
        "opened_at": conversation.opened_at,
        "assigned_agent": conversation.assigned_agent,
        "assigned_store": conversation.assigned_store,
        "consent": conversation.consent.value if conversation.consent else None,
        "consent_at": conversation.consent_at,
        "consent_keyword": conversation.consent_keyword,
        "linked_conversation_id": conversation.linked_conversation_id,
        "handed_off_from": conversation.handed_off_from.value if conversation.handed_off_from else None,
    }
    item.update({name: _s(value) for name, value in optional.items() if value})
    if conversation.profile_id:
        item["profile_sk"] = _s(CONV_SK_PREFIX + conversation.conversation_id)
    last = conversation.last
    if last is not None:
        item["last_event_id"] = _s(last.event_id)
        item["last_name"] = _s(last.name)
        item["last_at"] = _s(last.at)
        if last.text:
            item["last_text"] = _s(last.text)
    return item


def _get(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value else None


def conversation_from_item(item: dict[str, Any]) -> Conversation:
    _, kind, value = item["pk"]["S"].split("#", 2)
    contact = Contact(Channel(item["sk"]["S"].removeprefix(CONV_SK_PREFIX)), IdentifierType(kind), value)
    last = None
    if "last_event_id" in item:
        last = LastMessage(
            event_id=item["last_event_id"]["S"],
            name=item["last_name"]["S"],
            at=item["last_at"]["S"],
            text=_get(item, "last_text"),
        )
    consent = _get(item, "consent")
    handed_off_from = _get(item, "handed_off_from")
    return Conversation(
        contact=contact,
        exists=True,
        rev=int(item["rev"]["N"]),
        state=CaseState(item["state"]["S"]),
        profile_id=_get(item, "profile_id"),
        opened_at=_get(item, "opened_at"),
        last=last,
        message_count=int(item["message_count"]["N"]),
        assigned_agent=_get(item, "assigned_agent"),
        assigned_store=_get(item, "assigned_store"),
        consent=Consent(consent) if consent else None,
        consent_at=_get(item, "consent_at"),
        consent_keyword=_get(item, "consent_keyword"),
        linked_conversation_id=_get(item, "linked_conversation_id"),
        handed_off_from=Channel(handed_off_from) if handed_off_from else None,
    )


class ConversationStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def load(self, contact: Contact) -> Conversation:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _s(contact_pk(contact.kind, contact.value)), "sk": _s(CONV_SK_PREFIX + contact.channel.value)},
            ConsistentRead=True,
        ).get("Item")
        return conversation_from_item(item) if item else Conversation(contact=contact)

    def save_applied(self, before: Conversation, after: Conversation, event_id: str, expires_at: int) -> bool:
        """Write ``after`` if the stored conversation is still ``before``, remembering ``event_id`` in the same
        transaction. False: the event was applied already (nothing written). Raises ``WriteConflict``."""
        item = conversation_item(replace(after, rev=before.rev + 1))
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if before.exists:
            put["ConditionExpression"] = "rev = :rev"
            put["ExpressionAttributeValues"] = {":rev": {"N": str(before.rev)}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": _s(event_pk(event_id)),
                                "sk": _s(APPLIED_SK),
                                "kind": _s("applied"),
                                "expires_at": {"N": str(expires_at)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": put},
                ]
            )
        except ClientError as error:
            codes = cancellation_codes(error)
            if not codes:
                raise
            if codes[0] == "ConditionalCheckFailed":
                return False
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise WriteConflict("conversation changed since it was read") from error
            raise
        return True

    def of_identifier(self, kind: IdentifierType | str, value: str) -> list[Conversation]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conv)",
            "ExpressionAttributeValues": {":pk": _s(contact_pk(kind, value)), ":conv": _s(CONV_SK_PREFIX)},
        }
        while True:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return [conversation_from_item(item) for item in items]
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def of_profile(self, profile_id: str) -> list[Conversation]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_PROFILE,
            "KeyConditionExpression": "profile_id = :id AND begins_with(profile_sk, :conv)",
            "ExpressionAttributeValues": {":id": _s(profile_id), ":conv": _s(CONV_SK_PREFIX)},
        }
        while True:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return [conversation_from_item(item) for item in items]
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def set_profile(self, contact: Contact, profile_id: str, *, only_if: str | None = None) -> bool:
        """Point a stored conversation at ``profile_id`` (``only_if``: only when it points at that profile now).
        Setting a value it already has changes nothing: safe to repeat."""
        key = {"pk": _s(contact_pk(contact.kind, contact.value)), "sk": _s(CONV_SK_PREFIX + contact.channel.value)}
        values: dict[str, Any] = {":id": _s(profile_id), ":psk": _s(CONV_SK_PREFIX + conversation_id_of(contact))}
        condition = "attribute_exists(pk)"
        if only_if is not None:
            condition += " AND profile_id = :was"
            values[":was"] = _s(only_if)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET profile_id = :id, profile_sk = :psk ADD rev :one",
                ConditionExpression=condition,
                ExpressionAttributeValues={**values, ":one": {"N": "1"}},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def delete(self, contact: Contact) -> None:
        self._client.delete_item(
            TableName=self._table,
            Key={"pk": _s(contact_pk(contact.kind, contact.value)), "sk": _s(CONV_SK_PREFIX + contact.channel.value)},
        )
