"""HTTP entry point of the store directory: stores and inventory (``handoff.routes.stores_api``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handoff.dal.store_catalog import StoreMoved
from handoff.observability import logger, metrics, tracer
from handoff.routes import stores_api
from handoff.routes.context_api import ApiError, error_response
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(stores_api.router)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response[str]:
    logger.info("request refused", extra={"status": error.status, "code": error.code})
    return error_response(error)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    import json

    errors = field_errors(error, strip=("body",))
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    body = {"code": "invalid_request", "message": first["message"], "field": first["field"], "errors": errors}
    return Response(status_code=400, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@app.exception_handler(StoreMoved)
def _store_moved(_: StoreMoved) -> Response[str]:
    response = error_response(ApiError(409, "conflict", "the store changed meanwhile; try again"))
    response.headers["Retry-After"] = "1"
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    """The OpenAPI document of the store directory (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title="Omnichannel handoff stores API",
        version="1.0.0",
        description=(
            "Stores and their inventory for online-to-store offers: admins write (JWT with the admin role), agents "
            "read and find the stores within a radius of a point, nearest first."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token (make token)")},
    )
