"""HTTP entry point of the handoff function: the agent context (by profile or by the calling number) and handoff
tickets (issue, read, redeem). Thin: route, map errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff.observability import logger, metrics, tracer
from handoff.routes import context_api, ticket_api
from handoff.routes.errors import ApiError, error_response
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(context_api.router)
app.include_router(ticket_api.router)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response[str]:
    return _refuse(error)


def _refuse(error: ApiError) -> Response[str]:
    logger.info("request refused", extra={"status": error.status, "code": error.code})
    return error_response(error)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    errors = field_errors(error)
    first = errors[0]["field"] if errors else None
    return _refuse(ApiError(400, "invalid_request", "the request does not match the API", first, errors=errors))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    """The OpenAPI document of the handoff API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title="Omnichannel handoff API",
        version="1.0.0",
        description=(
            "The next agent, channel or store picks up where the customer left off. Agent JWT on every route. "
            "Customer context by profile or by the calling number (implicit handoff); handoff tickets with a short "
            "code (XXXX-XXXX, Crockford base32), single use, expiring; guessing is rate-limited (429, Retry-After)."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token (make token)")},
    )
