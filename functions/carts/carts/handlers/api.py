"""HTTP entry point of the carts function: the cart API (customer token or device anonymous id).

Thin on purpose: the shared front door (``omnichannel.http_api``) decodes, routes and answers errors; this maps the
cart's own refusals. The work happens in ``carts.logic``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from carts.logic.cart import CartRuleError
from carts.logic.cart_service import PreconditionFailed, TooMuchContention
from carts.observability import logger, metrics, tracer
from carts.routes import cart_api
from omnichannel import http_api
from omnichannel.http_api import ApiError

app = http_api.api_resolver(logger, metrics)
app.include_router(cart_api.router)
_PATH_FIELDS = frozenset({"line_id"})


@app.exception_handler(CartRuleError)
def _cart_rule(error: CartRuleError) -> Response[str]:
    field = f"path.{error.field}" if error.field in _PATH_FIELDS else error.field
    status = 400 if error.status == 422 else error.status
    return http_api.refuse(app, ApiError(status, error.code, error.message, field))


@app.exception_handler(PreconditionFailed)
def _precondition_failed(error: PreconditionFailed) -> Response[str]:
    metrics.add_metric(name="StaleWritesRefused", unit="Count", value=1)
    show_profile = not cart_api.router.current_event.path.startswith("/carts/anonymous")
    response: Response[str] = cart_api.cart_response(error.current, show_profile=show_profile, status=412)
    return response


@app.exception_handler(TooMuchContention)
def _contention(_: TooMuchContention) -> Response[str]:
    metrics.add_metric(name="WritesGivenUp", unit="Count", value=1)
    message = "the cart is being changed by others; try again"
    return http_api.refuse(app, ApiError(503, "busy", message, headers={"Retry-After": "1"}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    """The OpenAPI document of the cart API (``make openapi``)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel carts API",
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
