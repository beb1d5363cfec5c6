"""HTTP entry point of the carts function: the cart API (customer token or device anonymous id).

Thin on purpose: route, map errors. The work happens in ``carts.logic``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from carts.logic.cart import CartRuleError
from carts.logic.cart_service import PreconditionFailed, TooMuchContention
from carts.observability import logger, metrics, tracer
from carts.routes import cart_api
from carts.routes.errors import ApiError, error_response
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(cart_api.router)


def _refuse(error: ApiError) -> Response[str]:
    logger.info("request refused", extra={"status": error.status, "code": error.code})
    return error_response(error)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response[str]:
    return _refuse(error)


@app.exception_handler(CartRuleError)
def _cart_rule(error: CartRuleError) -> Response[str]:
    return _refuse(ApiError(error.status, error.code, error.message, error.field))


@app.exception_handler(PreconditionFailed)
def _precondition_failed(error: PreconditionFailed) -> Response[str]:
    metrics.add_metric(name="StaleWritesRefused", unit="Count", value=1)
    show_profile = not cart_api.router.current_event.path.startswith("/carts/anonymous")
    response: Response[str] = cart_api.cart_response(error.current, show_profile=show_profile, status=412)
    return response


@app.exception_handler(TooMuchContention)
def _contention(_: TooMuchContention) -> Response[str]:
    metrics.add_metric(name="WritesGivenUp", unit="Count", value=1)
    response = error_response(ApiError(503, "busy", "the cart is being changed by others; try again"))
    response.headers["Retry-After"] = "1"
    return response


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    errors = field_errors(error, strip=("body",))
    response: Response[str] = _api_error(
        ApiError(400, "invalid_request", "the request does not match the API", errors=errors)
    )
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    """The OpenAPI document of the cart API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    return app.get_openapi_json_schema(
        title="Omnichannel carts API",
        version="1.0.0",
        description=(
            "One cart per customer on every device. /carts/me... with a customer or agent JWT; /carts/anonymous... "
            "with the device's anonymous id in X-Anonymous-Id. Writes may send If-Match (the ETag or the version): "
            "a stale one gets 412 and changes nothing. Money is a decimal string with its ISO 4217 currency."
        ),
        security_schemes={
            "jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token (locally: make token)"),
            "anonymousId": APIKey(name="X-Anonymous-Id", **{"in": APIKeyIn.header}),
        },
    )
