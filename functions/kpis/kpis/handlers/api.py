"""HTTP entry point of the KPI API (JWT): KPIs, cohorts, one customer's value and stage, marketing spend. Thin: the
shared front door (``omnichannel.http_api``) decodes, routes and answers errors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from kpis.logic.money import MoneyError
from kpis.observability import logger, metrics, tracer
from kpis.routes import kpi_api
from omnichannel import http_api
from omnichannel.http_api import ApiError

app = http_api.api_resolver(logger, metrics)
app.include_router(kpi_api.router)


@app.exception_handler(MoneyError)
def _bad_money(error: MoneyError) -> Response[str]:
    return http_api.refuse(app, ApiError(400, "invalid_request", str(error), "rows"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http_api.handle(app, event, context)


def openapi_document() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return http_api.openapi_document(
        app,
        title="Omnichannel KPI API",
        description=(
            "KPIs per period, channel and granularity; cohorts; one customer's value and lifecycle stage; "
            "marketing spend."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito access token")},
    )
