"""HTTP entry point of the store directory: stores and inventory (``outbound.routes.stores_api``). Thin: the shared
front door (``omnichannel.http_api``) decodes, routes and answers errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel import http_api
from omnichannel.http_api import ApiError
from outbound.dal.store_catalog import StoreMoved
from outbound.observability import logger, metrics, tracer
from outbound.routes import stores_api

app = http_api.api_resolver(logger, metrics)
app.include_router(stores_api.router)


@app.exception_handler(StoreMoved)
def _store_moved(_: StoreMoved) -> Response[str]:
    return http_api.refuse(
        app, ApiError(409, "conflict", "the store changed meanwhile; try again", headers={"Retry-After": "1"})
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    """The OpenAPI document of the store directory (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel stores API",
        description=(
            "Stores and their inventory for online-to-store offers: admins write (JWT with the admin role), agents "
            "read and find the stores within a radius of a point, nearest first."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token (make token)")},
    )
