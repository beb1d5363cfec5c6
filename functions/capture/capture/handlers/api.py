"""HTTP entry point of the capture function: the Segment tracking API, analytics.js's settings and the channel
webhooks.

Thin on purpose: the shared front door (``omnichannel.http_api``) decodes the body and answers every error in the
one shape; capture adds gzip and the trailing-slash path. The work happens in ``capture.routes`` and
``capture.logic``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture.observability import logger, metrics, tracer
from capture.routes import sdk_settings, tracking_api, webhooks
from capture.routes.request_body import decoded_body, without_trailing_slash
from omnichannel import http_api

app = http_api.api_resolver(logger, metrics)
app.include_router(tracking_api.router)
app.include_router(webhooks.router)
app.include_router(sdk_settings.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The tracking API takes any media type (analytics.js's sendBeacon posts text/plain) and gzip.
    return http_api.handle(app, without_trailing_slash(event), context, decode=decoded_body, json_only=False)


def openapi_document() -> str:
    """The OpenAPI document (``make openapi``). Built on demand: the OpenAPI models cost ~100 ms to import, which
    no request should pay at cold start."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase

    return http_api.openapi_document(
        app,
        title="Omnichannel capture API",
        description=(
            "Segment-compatible HTTP Tracking API (write key as HTTP Basic username), the settings analytics.js loads, "
            "and signed channel webhooks. "
            "Every accepted touchpoint becomes one canonical event on the EventBridge bus. Errors: see "
            "docs/http-api.md (one body for every API)."
        ),
        security_schemes={"writeKey": HTTPBase(scheme="basic", description="the write key as the username")},
    )
