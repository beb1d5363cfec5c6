"""HTTP entry point of survey answers by signed link (public: the link's HMAC signature is the permission). Thin:
the shared front door (``omnichannel.http_api``) decodes, routes and answers errors; a bad link opened in a
browser (GET) gets a page, from an app (POST) the one error body."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys.logic.surveys import BadLink, OffScale
from journeys.observability import logger, metrics, tracer
from journeys.routes import survey_api
from omnichannel import http_api
from omnichannel.http_api import ApiError

app = http_api.api_resolver(logger, metrics)
app.include_router(survey_api.router)


@app.exception_handler(BadLink)
def _bad_link(error: BadLink) -> Response[Any]:
    metrics.add_metric(name=f"SurveyLinks_{error.reason}", unit="Count", value=1)
    if app.current_event.http_method == "GET":
        return survey_api.bad_link_page(error.reason)
    status = 410 if error.reason == "expired" else 400
    message = "the link has expired" if error.reason == "expired" else "the link is not valid"
    return http_api.refuse(app, ApiError(status, f"link_{error.reason}", message, "token"))


@app.exception_handler(OffScale)
def _off_scale(error: OffScale) -> Response[Any]:
    field = "query.score" if app.current_event.http_method == "GET" else "score"
    return http_api.refuse(app, ApiError(400, "invalid_request", str(error), field))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    return http_api.openapi_document(
        app,
        title="Omnichannel journeys survey links",
        description="Survey answers from the signed links journeys send (no login: the signature is the permission).",
    )
