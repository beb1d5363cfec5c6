"""Agent tasks a journey opened on a customer ("call this customer", "follow up on this detractor"): the agent
context lists the open ones; an agent marks one done with what came of it. Agent role only."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from handoff import wiring
from handoff.logic.agent_tasks import TaskNotFound, task_view
from handoff.models.api import CompleteTaskRequest, TaskOut
from handoff.observability import metrics
from handoff.routes.context_api import require_agent
from omnichannel.canonical_event import utc_iso
from omnichannel.http_api import ApiError, ErrorBody

router = Router()

_JWT: list[dict[str, list[str]]] = [{"jwt": []}]


def _doc(description: str, model: Any = ErrorBody) -> Any:
    return {"description": description, "content": {"application/json": {"model": model}}}


@router.post(
    "/handoff/tasks/<task_id>/done",
    summary="Mark an agent task done, with what came of it (done already: answered as it is)",
    responses={
        200: _doc("The task, done", TaskOut),
        400: _doc("The body is malformed (field named)"),
        401: _doc("No token"),
        403: _doc("Not an agent"),
        404: _doc("No such task"),
    },
    tags=["tasks"],
    security=_JWT,
)
def complete_task(task_id: str, body: Annotated[CompleteTaskRequest, Body()]) -> Response[str]:
    principal = require_agent()
    if not 1 <= len(task_id) <= 200:
        raise ApiError(404, "not_found", "no such task", "path.task_id")
    try:
        task = wiring.get_tasks().complete(
            task_id, by=principal.subject, at=utc_iso(wiring.now()), outcome=body.outcome
        )
    except TaskNotFound as error:
        raise ApiError(404, "not_found", "no such task", "path.task_id") from error
    metrics.add_metric(name="AgentTasksDone", unit="Count", value=1)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(task_view(task), ensure_ascii=False, default=str),
        headers={"Cache-Control": "no-store"},
    )
