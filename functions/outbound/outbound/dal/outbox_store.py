"""Outbound messages in the outbound table (all DynamoDB access for them; low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| message | ``OUTBOX#<message_id>`` | ``OUTBOX`` | channel, address, template, variables, state, attempts, |
|  |  |  | provider id, last error |

While a message waits (``requested``) or is being sent (``sending``), it carries ``due_pk = "DUE"`` and
``due_sk = <next_at>#<message_id>``: the sparse GSI ``by_due`` answers "what is due now" in one Query, and a
message leaves the index once it is ``sent``, ``failed`` or ``cancelled``. ``profile_id`` /
``profile_sk = OUTBOX#...`` put it on ``by_profile`` so an erasure finds it. Every state change is a conditional
write: one sender at a time. The table's stream announces the end of each message (``message.sent``, or
``message.failed`` with ``error_code`` / ``cancel_reason``).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.dynamodb import condition_failed, put_new
from omnichannel.handoff_events import OutboundChannel
from outbound.delivery.message import DeliveryState, OutboundMessage, Prerendered

OUTBOX_SK = "OUTBOX"
BY_DUE = "by_due"
DUE_PK = "DUE"
BY_PROFILE = "by_profile"
PROFILE_SK_PREFIX = "OUTBOX#"


def outbox_pk(message_id: str) -> str:
    return f"OUTBOX#{message_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(message_id: str) -> dict[str, Any]:
    return {"pk": _s(outbox_pk(message_id)), "sk": _s(OUTBOX_SK)}


def outbox_item(message: OutboundMessage, expires_at: int) -> dict[str, Any]:
    """A new message waiting for ``message.due_at``."""
    item: dict[str, Any] = {
        **_key(message.message_id),
        "kind": _s("outbox"),
        "message_id": _s(message.message_id),
        "profile_id": _s(message.profile_id),
        "profile_sk": _s(f"{PROFILE_SK_PREFIX}{message.requested_at}#{message.message_id}"),
        "channel": _s(message.channel.value),
        "to": _s(message.to),
        "template": _s(message.template),
        "variables": _s(json.dumps(message.variables, sort_keys=True)),
        "reason": _s(message.reason),
        "requested_at": _s(message.requested_at),
        "due_at": _s(message.due_at),
        "state": _s(DeliveryState.REQUESTED.value),
        "attempts": {"N": "0"},
        "next_at": _s(message.due_at),
        "due_pk": _s(DUE_PK),
        "due_sk": _s(f"{message.due_at}#{message.message_id}"),
        "expires_at": {"N": str(expires_at)},
    }
    if message.ticket_code:
        item["ticket_code"] = _s(message.ticket_code)
    if message.prerendered is not None:
        done = message.prerendered
        item["prerendered"] = _s(
            json.dumps({"text": done.text, "subject": done.subject, "parameters": list(done.parameters)})
        )
    return item


def _prerendered(item: dict[str, Any]) -> Prerendered | None:
    raw = _text(item, "prerendered")
    if raw is None:
        return None
    done = json.loads(raw)
    return Prerendered(text=done["text"], subject=done["subject"], parameters=tuple(done["parameters"]))


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value else None


def message_from_item(item: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        message_id=item["message_id"]["S"],
        profile_id=item["profile_id"]["S"],
        channel=OutboundChannel(item["channel"]["S"]),
        to=item["to"]["S"],
        template=item["template"]["S"],
        variables=json.loads(item["variables"]["S"]),
        reason=_text(item, "reason") or "",
        ticket_code=_text(item, "ticket_code"),
        requested_at=item["requested_at"]["S"],
        due_at=item["due_at"]["S"],
        state=DeliveryState(item["state"]["S"]),
        attempts=int(item["attempts"]["N"]),
        next_at=_text(item, "next_at"),
        provider_id=_text(item, "provider_id"),
        last_error=_text(item, "last_error"),
        sent_at=_text(item, "sent_at"),
        failed_at=_text(item, "failed_at"),
        cancelled_at=_text(item, "cancelled_at"),
        error_code=_text(item, "error_code") or _text(item, "cancel_reason"),
        prerendered=_prerendered(item),
    )


class OutboxStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def request(self, message: OutboundMessage, expires_at: int) -> bool:
        """Store a new message; False (nothing written) when its id is known already: requests are idempotent."""
        return put_new(self._client, self._table, outbox_item(message, expires_at))

    def get(self, message_id: str) -> OutboundMessage | None:
        item = self._client.get_item(TableName=self._table, Key=_key(message_id), ConsistentRead=True).get("Item")
        return message_from_item(item) if item else None

    def due(self, now: str, limit: int = 100) -> list[str]:
        """Ids of messages whose ``next_at`` has come (oldest first), at most ``limit``."""
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_DUE,
            KeyConditionExpression="due_pk = :due AND due_sk <= :now",
            ExpressionAttributeValues={":due": _s(DUE_PK), ":now": _s(now + "\uffff")},
            Limit=limit,
        )
        return [item["pk"]["S"].removeprefix("OUTBOX#") for item in response.get("Items", [])]

    def claim(self, message_id: str, now: str, lease_until: str) -> OutboundMessage | None:
        """Take the message for one attempt if it is due (waiting, or a sender's lease ran out); None otherwise."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(message_id),
                UpdateExpression="SET #state = :sending, next_at = :lease, due_sk = :due_sk ADD attempts :one",
                ConditionExpression="#state IN (:requested, :sending) AND next_at <= :now",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":sending": _s(DeliveryState.SENDING.value),
                    ":requested": _s(DeliveryState.REQUESTED.value),
                    ":lease": _s(lease_until),
                    ":due_sk": _s(f"{lease_until}#{message_id}"),
                    ":now": _s(now),
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return message_from_item(response["Attributes"])

    def _finish(self, claimed: OutboundMessage, update: str, values: dict[str, Any]) -> bool:
        """Apply ``update`` if this sender still holds the claim (same state and attempt)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(claimed.message_id),
                UpdateExpression=update,
                ConditionExpression="#state = :sending AND attempts = :attempts",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    **values,
                    ":sending": _s(DeliveryState.SENDING.value),
                    ":attempts": {"N": str(claimed.attempts)},
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def mark_sent(self, claimed: OutboundMessage, provider_id: str, at: str) -> bool:
        return self._finish(
            claimed,
            "SET #state = :sent, provider_id = :provider, sent_at = :at REMOVE due_pk, due_sk, next_at, last_error",
            {":sent": _s(DeliveryState.SENT.value), ":provider": _s(provider_id), ":at": _s(at)},
        )

    def retry_later(self, claimed: OutboundMessage, error: str, next_at: str) -> bool:
        return self._finish(
            claimed,
            "SET #state = :requested, last_error = :error, next_at = :next, due_sk = :due_sk",
            {
                ":requested": _s(DeliveryState.REQUESTED.value),
                ":error": _s(error[:500]),
                ":next": _s(next_at),
                ":due_sk": _s(f"{next_at}#{claimed.message_id}"),
            },
        )

    def mark_failed(self, claimed: OutboundMessage, error: str, at: str, code: str) -> bool:
        """Failed for good: ``error`` the provider's words (kept here only), ``code`` short and without personal
        data (what ``message.failed`` carries)."""
        return self._finish(
            claimed,
            "SET #state = :failed, last_error = :error, error_code = :code, failed_at = :at "
            "REMOVE due_pk, due_sk, next_at",
            {
                ":failed": _s(DeliveryState.FAILED.value),
                ":error": _s(error[:500]),
                ":code": _s(code[:64] or "unknown"),
                ":at": _s(at),
            },
        )

    def mark_cancelled(self, claimed: OutboundMessage, reason: str, at: str) -> bool:
        return self._finish(
            claimed,
            "SET #state = :cancelled, last_error = :reason, cancel_reason = :reason, cancelled_at = :at "
            "REMOVE due_pk, due_sk, next_at",
            {":cancelled": _s(DeliveryState.CANCELLED.value), ":reason": _s(reason[:500]), ":at": _s(at)},
        )
