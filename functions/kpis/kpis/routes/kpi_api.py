"""KPI read routes (agents and admins; a customer reads only their own value) and the spend ingestion (admins).

Every view answers JSON, or CSV with ``Accept: text/csv``. A query parameter a route does not know, a channel
that does not exist, or an attribution lookback that is not kept is refused with 400 naming the parameter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from kpis import wiring
from kpis.logic import report
from kpis.logic.attribution import AttributionModel
from kpis.logic.calendar import month_of
from kpis.logic.customer_keys import profile_customer
from kpis.logic.lifecycle import next_review, rfm
from kpis.logic.money import quantum
from kpis.models.api import FIRST_DAY, LAST_DAY, SpendBatch
from kpis.routes import csv_views
from kpis.settings import get_settings
from omnichannel.auth import Forbidden, Principal, Role, principal_from_event
from omnichannel.canonical_event import Channel
from omnichannel.http_api import ApiError

router = Router()
MAX_DAYS = 731
CHANNELS = {channel.value for channel in Channel}
CSV_ANSWER: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The view (JSON), or CSV with Accept: text/csv",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


class Unauthorized(ApiError):
    """No verified caller."""

    def __init__(self) -> None:
        super().__init__(401, "unauthorized", "a verified token is required")


class BadRequest(ApiError):
    """Bad input, naming the field (``query.start``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_request", message, field)


def _in_range(day: date | None, field: str) -> date | None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(field, f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return day


def _month(value: str | None, field: str) -> str | None:
    if value is not None and not (
        FIRST_DAY.isoformat()[:7] <= value <= LAST_DAY.isoformat()[:7] and "01" <= value[5:] <= "12"
    ):
        raise BadRequest(field, f"must be a month (YYYY-MM) between {FIRST_DAY:%Y-%m} and {LAST_DAY:%Y-%m}")
    return value


def _caller() -> Principal:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise Unauthorized
    return principal


def _only(*allowed: str) -> None:
    for name in sorted(router.current_event.query_string_parameters or {}):
        if name not in allowed:
            raise BadRequest(
                f"query.{name}", f"unknown query parameter {name!r} (this route takes: {', '.join(allowed)})"
            )


def _csv() -> bool:
    return csv_views.wants_csv(router.current_event.headers.get("accept"))


def _today() -> date:
    return wiring.now().astimezone(get_settings().rollup_config().zone).date()


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    last = _in_range(end, "query.end") or _today()
    first = _in_range(start, "query.start") or last - timedelta(days=29)
    if first > last:
        raise BadRequest("query.start", "start is after end")
    if (last - first).days >= MAX_DAYS:
        raise BadRequest("query.start", f"at most {MAX_DAYS} days per query")
    return first, last


def _channels(channel: str | None) -> list[str] | None:
    if not channel:
        return None
    wanted = [part.strip() for part in channel.split(",") if part.strip()]
    unknown = sorted(set(wanted) - CHANNELS)
    if unknown:
        raise BadRequest(
            "query.channel", f"unknown channel {', '.join(unknown)} (one of {', '.join(sorted(CHANNELS))})"
        )
    return wanted or None


@router.get("/kpis", summary="KPIs for a period, by channel and granularity", responses=CSV_ANSWER)
def get_kpis(
    start: Annotated[date | None, Query(description="First business day (default: 29 days before end)")] = None,
    end: Annotated[date | None, Query(description="Last business day (default: today)")] = None,
    channel: Annotated[str | None, Query(description="Comma-separated channels (default: all)")] = None,
    granularity: Annotated[str, Query(pattern="^(day|week|month|total)$")] = "day",
    attribution_model: Annotated[AttributionModel | None, Query()] = None,
    lookback_days: Annotated[int | None, Query(ge=1, le=365, description="One of the kept lookbacks")] = None,
    distinct: Annotated[bool, Query(description="Also count distinct customers")] = False,
    compare: Annotated[
        Literal["previous_period", "previous_year"] | None,
        Query(description="Also read the previous period (same length) or the same dates a year earlier"),
    ] = None,
) -> Any:
    _caller().require(Role.AGENT)
    _only("start", "end", "channel", "granularity", "attribution_model", "lookback_days", "distinct", "compare")
    settings = get_settings()
    first, last = _period(start, end)
    model = attribution_model or settings.attribution_model
    kept = get_settings().rollup_config().attribution.lookbacks
    lookback = lookback_days or settings.attribution_lookback_days
    if lookback not in kept:
        raise BadRequest("query.lookback_days", f"credits are kept for lookbacks of {', '.join(map(str, kept))} days")
    query = report.Query(
        start=first,
        end=last,
        channels=_channels(channel),
        granularity=granularity,
        attribution=f"{model.value}:{lookback}",
        money_quantum=quantum(settings.reporting_currency),
        with_distinct=distinct,
    )
    repository = wiring.get_repository()
    figures = report.read_kpis(repository, query)
    answer: dict[str, Any] = {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "granularity": granularity,
        "time_zone": settings.business_time_zone,
        "reporting_currency": settings.reporting_currency,
        "attribution": {"model": model.value, "lookback_days": lookback, "kept_lookbacks": list(kept)},
        **figures,
    }
    if compare is not None:
        before_start, before_end = report.shifted(first, last, compare)
        previous = report.read_kpis(repository, replace(query, start=before_start, end=before_end))
        answer["comparison"] = {
            "compare": compare,
            "start": before_start.isoformat(),
            "end": before_end.isoformat(),
            "totals": previous["totals"],
            "deltas": report.deltas(figures["totals"], previous["totals"]),
        }
    if _csv():
        return csv_views.response(figures["rows"], f"kpis-{first.isoformat()}-{last.isoformat()}-{granularity}.csv")
    return answer


@router.get("/kpis/cohorts", summary="Cohort retention matrix by first-purchase month", responses=CSV_ANSWER)
def get_cohorts(
    from_month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    to_month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> Any:
    _caller().require(Role.AGENT)
    _only("from_month", "to_month")
    settings = get_settings()
    today = _today()
    last = _month(to_month, "query.to_month") or month_of(today)
    first = _month(from_month, "query.from_month") or month_of(today - timedelta(days=365))
    if first > last:
        raise BadRequest("query.from_month", "from_month is after to_month")
    cohorts = report.read_cohorts(wiring.get_repository(), first, last, quantum(settings.reporting_currency))
    if _csv():
        return csv_views.response(csv_views.cohort_rows(cohorts), f"cohorts-{first}-{last}.csv")
    return {"reporting_currency": settings.reporting_currency, "cohorts": cohorts}


@router.get(
    "/kpis/campaigns", summary="Spend, revenue, ROAS per campaign and per UTM source / medium", responses=CSV_ANSWER
)
def get_campaigns(
    start: Annotated[date | None, Query(description="First business day (default: 29 days before end)")] = None,
    end: Annotated[date | None, Query(description="Last business day (default: today)")] = None,
    view: Annotated[Literal["campaigns", "sources"], Query(description="CSV: which table")] = "campaigns",
) -> Any:
    _caller().require(Role.AGENT)
    _only("start", "end", "view")
    settings = get_settings()
    first, last = _period(start, end)
    tables = report.read_campaigns(wiring.get_repository(), first, last, quantum(settings.reporting_currency))
    if _csv():
        return csv_views.response(tables[view], f"{view}-{first.isoformat()}-{last.isoformat()}.csv")
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "reporting_currency": settings.reporting_currency,
        **tables,
    }


@router.get(
    "/kpis/lifecycle", summary="Customers per lifecycle stage (census) and their movement", responses=CSV_ANSWER
)
def get_lifecycle(
    start: Annotated[date | None, Query(description="First business day (default: 29 days before end)")] = None,
    end: Annotated[date | None, Query(description="Last business day (default: today)")] = None,
) -> Any:
    _caller().require(Role.AGENT)
    _only("start", "end")
    first, last = _period(start, end)
    today = _today()
    if (max(last, today) - first).days >= MAX_DAYS:
        raise BadRequest("query.start", f"at most {MAX_DAYS} days before today")
    answer = report.read_lifecycle(wiring.get_repository(), first, last, today)
    if _csv():
        return csv_views.response(answer["movement"], f"lifecycle-{first.isoformat()}-{last.isoformat()}.csv")
    return {"start": first.isoformat(), "end": last.isoformat(), **answer}


def _customer_value(customer_key: str) -> dict[str, Any]:
    service = wiring.get_service()
    state = service.load(customer_key)
    if state.version == 0:
        return {"customer_id": customer_key, "known": False}
    settings = get_settings()
    today = service.today()
    figures = rfm(state, today)
    scores = wiring.score_customer(state, today) if state.orders_by_day else {}
    review = next_review(state, today, service.config.thresholds)
    return {
        "customer_id": state.key,
        "profile_id": state.profile_id,
        "known": True,
        "reporting_currency": settings.reporting_currency,
        "stage": state.stage,
        "stage_since": state.stage_since,
        "next_review": review.isoformat() if review else None,
        "recency_days": figures.recency_days,
        "frequency": figures.frequency,
        "monetary": figures.monetary,
        "gross": state.gross,
        "refunded": state.refunded,
        "historic_clv": state.net,
        "historic_clv_complete": state.valued,
        "unconverted": dict(sorted(state.unconverted.items())),
        "first_order_day": state.first_order_day,
        "last_order_day": state.last_order_day,
        "channels": sorted(state.channels),
        "predicted": scores or None,
    }


@router.get("/kpis/customers/<customer_id>", summary="One customer's value and lifecycle stage (by their user id)")
def get_customer(customer_id: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
    caller = _caller()
    if not caller.may_access_customer(customer_id):
        raise Forbidden("a customer reads only their own value")
    _only()
    return _customer_value(wiring.get_service().resolve({"user_id": customer_id}))


@router.get("/kpis/profiles/<profile_id>", summary="One profile's value and lifecycle stage")
def get_profile(profile_id: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
    _caller().require(Role.AGENT)
    _only()
    return _customer_value(profile_customer(profile_id))


@router.post("/kpis/spend", summary="Marketing spend per day, channel and campaign (a row sent again replaces it)")
def post_spend(batch: SpendBatch) -> dict[str, Any]:
    _caller().require(Role.ADMIN)
    _only()
    service = wiring.get_service()
    stored = [
        service.record_spend(row.day.isoformat(), row.channel.value, row.campaign, row.amount, row.currency)
        for row in batch.rows
    ]
    return {"stored": len(stored), "rows": stored}
