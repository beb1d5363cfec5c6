"""HTTP entry point of the journeys API for staff (JWT): the journeys, a funnel with lift, a customer's journeys.
Thin: the shared front door (``omnichannel.http_api``) decodes, routes and answers errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys.observability import logger, metrics, tracer
from journeys.routes import journeys_api
from omnichannel import http_api

app = http_api.api_resolver(logger, metrics)
app.include_router(journeys_api.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel journeys API",
        description="Journeys defined as code: their funnels and lift, and a customer's journeys (staff JWT).",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token")},
    )
