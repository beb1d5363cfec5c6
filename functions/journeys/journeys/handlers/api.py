"""HTTP entry point of the journeys API for staff (JWT): the journeys, a funnel with lift, a customer's journeys."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys.observability import logger, metrics, tracer
from journeys.routes import journeys_api
from journeys.routes.journeys_api import NotFound, Unauthorized
from omnichannel.auth import Forbidden
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(journeys_api.router)


def _error(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body={"success": False, "code": code, "message": message, "errors": errors or []},
    )


@app.exception_handler(Unauthorized)
def _unauthorized(error: Unauthorized) -> Response[Any]:
    return _error(401, "unauthorized", "a verified token is required")


@app.exception_handler(Forbidden)
def _forbidden(error: Forbidden) -> Response[Any]:
    return _error(403, "forbidden", str(error))


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[Any]:
    return _error(404, "not_found", str(error), [{"field": error.field, "message": str(error)}])


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[Any]:
    return _error(400, "invalid_request", "the request does not match the API", field_errors(error))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title="Omnichannel journeys API",
        version="1.0.0",
        description="Journeys defined as code: their funnels and lift, and a customer's journeys (staff JWT).",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token")},
    )
