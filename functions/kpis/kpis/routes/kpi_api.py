"""KPI read routes (agents and admins; a customer reads only their own value) and the spend ingestion (admins)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from kpis import wiring
from kpis.dal import keys
from kpis.logic import report
from kpis.logic.attribution import AttributionModel
from kpis.logic.calendar import month_of
from kpis.logic.lifecycle import next_review, rfm
from kpis.logic.money import quantum
from kpis.models.api import FIRST_DAY, LAST_DAY, SpendBatch
from kpis.settings import get_settings
from omnichannel.auth import Forbidden, Principal, Role, principal_from_event
from omnichannel.http_api import ApiError

router = Router()
MAX_DAYS = 731


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


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    today = wiring.now().astimezone(get_settings().rollup_config().zone).date()
    last = _in_range(end, "query.end") or today
    first = _in_range(start, "query.start") or last - timedelta(days=29)
    if first > last:
        raise BadRequest("query.start", "start is after end")
    if (last - first).days >= MAX_DAYS:
        raise BadRequest("query.start", f"at most {MAX_DAYS} days per query")
    return first, last


@router.get("/kpis", summary="KPIs for a period, by channel and granularity")
def get_kpis(
    start: Annotated[date | None, Query(description="First business day (default: 29 days before end)")] = None,
    end: Annotated[date | None, Query(description="Last business day (default: today)")] = None,
    channel: Annotated[str | None, Query(description="Comma-separated channels (default: all)")] = None,
    granularity: Annotated[str, Query(pattern="^(day|week|month|total)$")] = "day",
    attribution_model: Annotated[AttributionModel | None, Query()] = None,
    lookback_days: Annotated[int | None, Query(ge=1, le=365)] = None,
    distinct: Annotated[bool, Query(description="Also count distinct customers")] = False,
) -> dict[str, Any]:
    _caller().require(Role.AGENT)
    settings = get_settings()
    first, last = _period(start, end)
    model = attribution_model or settings.attribution_model
    lookback = lookback_days or settings.attribution_lookback_days
    figures = report.read_kpis(
        wiring.get_store(),
        first,
        last,
        channels=[part.strip() for part in channel.split(",") if part.strip()] if channel else None,
        granularity=granularity,
        attribution=f"{model.value}:{lookback}",
        money_quantum=quantum(settings.reporting_currency),
        with_distinct=distinct,
    )
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "granularity": granularity,
        "time_zone": settings.business_time_zone,
        "reporting_currency": settings.reporting_currency,
        "attribution": {"model": model.value, "lookback_days": lookback},
        **figures,
    }


@router.get("/kpis/cohorts", summary="Cohort retention matrix by first-purchase month")
def get_cohorts(
    from_month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    to_month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> dict[str, Any]:
    _caller().require(Role.AGENT)
    settings = get_settings()
    today = wiring.now().astimezone(settings.rollup_config().zone).date()
    last = _month(to_month, "query.to_month") or month_of(today)
    first = _month(from_month, "query.from_month") or month_of(today - timedelta(days=365))
    return {
        "reporting_currency": settings.reporting_currency,
        "cohorts": report.read_cohorts(wiring.get_store(), first, last, quantum(settings.reporting_currency)),
    }


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
    return _customer_value(wiring.get_service().resolve({"user_id": customer_id}))


@router.get("/kpis/profiles/<profile_id>", summary="One profile's value and lifecycle stage")
def get_profile(profile_id: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
    _caller().require(Role.AGENT)
    return _customer_value(keys.profile_customer(profile_id))


@router.post("/kpis/spend", summary="Marketing spend per day, channel and campaign (a row sent again replaces it)")
def post_spend(batch: SpendBatch) -> dict[str, Any]:
    _caller().require(Role.ADMIN)
    service = wiring.get_service()
    stored = [
        service.record_spend(row.day.isoformat(), row.channel.value, row.campaign, row.amount, row.currency)
        for row in batch.rows
    ]
    return {"stored": len(stored), "rows": stored}
