"""Agent tasks in the handoff table (all DynamoDB access for them; low-level client API).

| item | pk | sk | holds |
|---|---|---|---|
| task | ``TASK#<task_id>`` | ``TASK`` | kind, reason, priority, due, note, the journey's context, state |

A task carries ``profile_id`` / ``profile_sk = TASK#<due_at>#<task_id>`` so a profile's tasks are one Query on
the sparse ``by_profile`` GSI (beside its conversations and tickets). Opening is a conditional PutItem (a
redelivered request changes nothing); marking done is a conditional UpdateItem (open only). ``expires_at``
removes a task ``KEEP_DAYS`` after it was opened.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from handoff.logic.agent_tasks import AgentTask, TaskNotFound, TaskState
from omnichannel.dynamodb import condition_failed, put_new

TASK_SK = "TASK"
TASK_PREFIX = "TASK#"
BY_PROFILE = "by_profile"
KEEP_DAYS = 90


def task_pk(task_id: str) -> str:
    return TASK_PREFIX + task_id


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(task_id: str) -> dict[str, Any]:
    return {"pk": _s(task_pk(task_id)), "sk": _s(TASK_SK)}


def task_item(task: AgentTask, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(task.task_id),
        "kind": _s("task"),
        "task_id": _s(task.task_id),
        "profile_id": _s(task.profile_id),
        "profile_sk": _s(f"{TASK_PREFIX}{task.due_at}#{task.task_id}"),
        "task_kind": _s(task.kind),
        "reason": _s(task.reason),
        "priority": _s(task.priority),
        "note": _s(task.note),
        "due_at": _s(task.due_at),
        "created_at": _s(task.created_at),
        "context": _s(json.dumps(task.context, ensure_ascii=False, sort_keys=True, default=str)),
        "state": _s(task.state.value),
        "expires_at": {"N": str(expires_at)},
    }
    if task.journey_id:
        item["journey_id"] = _s(task.journey_id)
    if task.step_id:
        item["step_id"] = _s(task.step_id)
    return item


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value else None


def task_from_item(item: dict[str, Any]) -> AgentTask:
    return AgentTask(
        task_id=item["task_id"]["S"],
        profile_id=item["profile_id"]["S"],
        kind=item["task_kind"]["S"],
        reason=item["reason"]["S"],
        priority=item["priority"]["S"],
        due_at=item["due_at"]["S"],
        created_at=item["created_at"]["S"],
        note=_text(item, "note") or "",
        journey_id=_text(item, "journey_id"),
        step_id=_text(item, "step_id"),
        context=json.loads(_text(item, "context") or "{}"),
        state=TaskState(item["state"]["S"]),
        done_at=_text(item, "done_at"),
        done_by=_text(item, "done_by"),
        outcome=_text(item, "outcome"),
    )


class TaskStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def open(self, task: AgentTask, now_epoch: int) -> bool:
        """Store a new open task; False (nothing written) when its id is known already."""
        return put_new(self._client, self._table, task_item(task, now_epoch + KEEP_DAYS * 86400))

    def get(self, task_id: str) -> AgentTask | None:
        item = self._client.get_item(TableName=self._table, Key=_key(task_id), ConsistentRead=True).get("Item")
        return task_from_item(item) if item else None

    def of_profile(self, profile_id: str, limit: int = 50) -> list[AgentTask]:
        """The profile's tasks, earliest due first, at most ``limit``."""
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_PROFILE,
            KeyConditionExpression="profile_id = :p AND begins_with(profile_sk, :prefix)",
            ExpressionAttributeValues={":p": _s(profile_id), ":prefix": _s(TASK_PREFIX)},
            Limit=limit,
        )
        return [task_from_item(item) for item in response.get("Items", [])]

    def complete(self, task_id: str, by: str, at: str, outcome: str) -> AgentTask:
        """Mark an open task done (done already: as it is, unchanged). Raises ``TaskNotFound``."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(task_id),
                UpdateExpression="SET #state = :done, done_at = :at, done_by = :by, outcome = :outcome",
                ConditionExpression="attribute_exists(pk) AND #state = :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":done": _s(TaskState.DONE.value),
                    ":open": _s(TaskState.OPEN.value),
                    ":at": _s(at),
                    ":by": _s(by),
                    ":outcome": _s(outcome),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            existing = self.get(task_id)
            if existing is None:
                raise TaskNotFound(task_id) from error
            return existing
        return task_from_item(response["Attributes"])

    def delete_of_profile(self, profile_id: str) -> int:
        """Delete every task of the profile (erasure); returns how many. Safe to repeat."""
        deleted = 0
        while True:
            tasks = self.of_profile(profile_id, limit=100)
            for task in tasks:
                self._client.delete_item(TableName=self._table, Key=_key(task.task_id))
            deleted += len(tasks)
            if len(tasks) < 100:
                return deleted

    def rehome(self, task: AgentTask, profile_id: str) -> None:
        """Move a task to the profile it now belongs to (a merge): the next agent of the survivor sees it."""
        moved = replace(task, profile_id=profile_id)
        self._client.update_item(
            TableName=self._table,
            Key=_key(task.task_id),
            UpdateExpression="SET profile_id = :p, profile_sk = :sk",
            ExpressionAttributeValues={
                ":p": _s(moved.profile_id),
                ":sk": _s(f"{TASK_PREFIX}{moved.due_at}#{moved.task_id}"),
            },
        )
