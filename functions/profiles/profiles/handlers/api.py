"""HTTP entry point of the profiles function (JWT-protected routes). Thin: the shared front door
(``omnichannel.http_api``) decodes, routes and answers errors; the routes are in ``profiles.routes.profile_api``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel import http_api
from profiles.observability import logger, metrics, tracer
from profiles.routes import profile_api

app = http_api.api_resolver(logger, metrics)
app.include_router(profile_api.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    """The OpenAPI document of the profiles API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel profiles API",
        description=(
            "One customer across every channel: the unified profile, lookup by identifier, the cross-channel "
            "timeline, the merge log, unmerge and erasure. Bearer JWT (Cognito); customers reach their own profile."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"jwt": []}],
    )
