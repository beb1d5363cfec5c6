"""Agent tasks: "call this customer", "follow up on this detractor" (pure: no boto3 here).

A journey step (``agent_task.requested`` from ``omnichannel.journeys``) asks an agent to act for a customer by a
due time. Handoff keeps it as an open task on the customer, so the next agent who opens the customer's context
sees it with the reason and what the journey knew (the survey answer, the touchpoint, the stage), and marks it
done. A task is opened once per ``task_id`` however often the request is delivered; marking it done is
idempotent, and a done task never reopens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omnichannel.canonical_event import utc_iso
from omnichannel.journey_events import AgentTaskRequested

MAX_NOTE = 1000
MAX_CONTEXT_BYTES = 4000  # what the journey knew, bounded: the context read stays small


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class AgentTask:
    task_id: str
    profile_id: str
    kind: str
    reason: str
    priority: str
    due_at: str
    created_at: str
    note: str = ""
    journey_id: str | None = None
    step_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    state: TaskState = TaskState.OPEN
    done_at: str | None = None
    done_by: str | None = None
    outcome: str | None = None


class TaskNotFound(LookupError):
    pass


def task_from_request(request: AgentTaskRequested) -> AgentTask:
    context = request.context
    if len(json.dumps(context, ensure_ascii=False, default=str).encode()) > MAX_CONTEXT_BYTES:
        context = {"truncated": True, **{k: v for k, v in context.items() if isinstance(v, str | int | float)}}
    return AgentTask(
        task_id=request.task_id,
        profile_id=request.profile_id,
        kind=request.kind,
        reason=request.reason,
        priority=request.priority,
        due_at=utc_iso(request.due_at),
        created_at=utc_iso(request.occurred_at),
        note=request.note[:MAX_NOTE],
        journey_id=request.journey_id,
        step_id=request.step_id,
        context=dict(context),
    )


def task_view(task: AgentTask) -> dict[str, Any]:
    """A task as the agent context and the tasks route show it."""
    view: dict[str, Any] = {
        "task_id": task.task_id,
        "profile_id": task.profile_id,
        "kind": task.kind,
        "reason": task.reason,
        "priority": task.priority,
        "note": task.note,
        "due_at": task.due_at,
        "created_at": task.created_at,
        "state": task.state.value,
        "journey_id": task.journey_id,
        "step_id": task.step_id,
        "context": task.context,
    }
    if task.state is TaskState.DONE:
        view.update(done_at=task.done_at, done_by=task.done_by, outcome=task.outcome)
    return view


_PRIORITY = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def by_urgency(tasks: list[AgentTask]) -> list[AgentTask]:
    """Open tasks first, then by priority, then the earliest due."""
    return sorted(tasks, key=lambda t: (t.state is not TaskState.OPEN, _PRIORITY.get(t.priority, 2), t.due_at))
