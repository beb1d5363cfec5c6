"""HTTP entry point of the profiles function (JWT-protected routes). Thin: route, map errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnichannel.http_errors import field_errors
from profiles.observability import logger, metrics, tracer
from profiles.routes import profile_api
from profiles.routes.errors import ApiError, FieldError, error_response

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(profile_api.router)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response[str]:
    logger.info("request refused", extra={"status": error.status, "code": error.code})
    return error_response(error)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    errors = [FieldError(**found) for found in field_errors(error)]
    return error_response(ApiError(400, "invalid_request", "the request does not match the API", errors))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    """The OpenAPI document of the profiles API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title="Omnichannel profiles API",
        version="1.0.0",
        description=(
            "One customer across every channel: the unified profile, lookup by identifier, the cross-channel "
            "timeline, the merge log, unmerge and erasure. Bearer JWT (Cognito); customers reach their own profile."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"jwt": []}],
    )
