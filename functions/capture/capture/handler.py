"""HTTP entry point of the capture function: the Segment tracking API and the channel webhooks.

Thin on purpose: decode the body, route, map errors. The work happens in ``capture.logic``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture.observability import logger, metrics, tracer
from capture.routes import sdk_settings, tracking_api, webhooks
from capture.routes.errors import CaptureError, FieldError, error_payload, error_response
from capture.routes.request_body import with_plain_body
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(tracking_api.router)
app.include_router(webhooks.router)
app.include_router(sdk_settings.router)


@app.exception_handler(CaptureError)
def _capture_error(error: CaptureError) -> Response[str]:
    metrics.add_metric(name="RequestsRefused", unit="Count", value=1)
    logger.info("request refused", extra={"status": error.status, "code": error.code})
    return error_response(error)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    errors = [FieldError(**found) for found in field_errors(error, strip=("body",))]
    return error_response(CaptureError(400, "invalid_request", "the request does not match the API", errors))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        plain = with_plain_body(event)
    except CaptureError as error:
        _capture_error(error)
        return error_payload(error)
    return app.resolve(plain, context)


def openapi_document() -> str:
    """The OpenAPI document (``make openapi``). Built on demand: the OpenAPI models cost ~100 ms to import, which
    no request should pay at cold start."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase

    return app.get_openapi_json_schema(
        title="Omnichannel capture API",
        version="1.0.0",
        description=(
            "Segment-compatible HTTP Tracking API (write key as HTTP Basic username), the settings analytics.js loads, "
            "and signed channel webhooks. "
            "Every accepted touchpoint becomes one canonical event on the EventBridge bus."
        ),
        security_schemes={"writeKey": HTTPBase(scheme="basic", description="the write key as the username")},
    )
