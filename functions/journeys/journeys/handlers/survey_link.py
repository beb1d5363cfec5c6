"""HTTP entry point of survey answers by signed link (public: the link's HMAC signature is the permission)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from journeys.logic.surveys import BadLink
from journeys.observability import logger, metrics, tracer
from journeys.routes import survey_api
from omnichannel.http_errors import field_errors

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(survey_api.router)


def _error(status: int, code: str, message: str, errors: list[dict[str, str]]) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body={"success": False, "code": code, "message": message, "errors": errors},
    )


@app.exception_handler(BadLink)
def _bad_link(error: BadLink) -> Response[Any]:
    metrics.add_metric(name=f"SurveyLinks_{error.reason}", unit="Count", value=1)
    if app.current_event.http_method == "GET":
        return survey_api.bad_link_page(error.reason)
    status = 410 if error.reason == "expired" else 400
    message = "the link has expired" if error.reason == "expired" else "the link is not valid"
    return _error(status, f"link_{error.reason}", message, [{"field": "token", "message": message}])


@app.exception_handler(ValueError)
def _bad_score(error: ValueError) -> Response[Any]:
    return _error(400, "invalid_request", str(error), [{"field": "score", "message": str(error)}])


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[Any]:
    return _error(400, "invalid_request", "the request does not match the API", field_errors(error))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> str:
    return app.get_openapi_json_schema(
        title="Omnichannel journeys survey links",
        version="1.0.0",
        description="Survey answers from the signed links journeys send (no login: the signature is the permission).",
    )
