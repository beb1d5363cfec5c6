"""HTTP entry point of the handoff function: the agent context (by profile or by the calling number), handoff
tickets (issue, read, redeem) and agent tasks (done). Thin: the shared front door (``omnichannel.http_api``)
decodes, routes and answers errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff.observability import logger, metrics, tracer
from handoff.routes import context_api, task_api, ticket_api
from omnichannel import http_api

app = http_api.api_resolver(logger, metrics)
app.include_router(context_api.router)
app.include_router(ticket_api.router)
app.include_router(task_api.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    """The OpenAPI document of the handoff API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel handoff API",
        description=(
            "The next agent, channel or store picks up where the customer left off. Agent JWT on every route. "
            "Customer context by profile or by the calling number (implicit handoff); handoff tickets with a short "
            "code (XXXX-XXXX, Crockford base32), single use, expiring; guessing is rate-limited (429, Retry-After)."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token (make token)")},
    )
