"""Explicit handoff: an agent issues a ticket (short code, deep link for digital channels); the receiving side
(phone agent, store clerk, chat agent) redeems it once and gets the customer's context. Agent role only.

Guessing is rate-limited per caller (token ``sub``): after ``REDEEM_FAILURE_LIMIT`` failed redemptions or lookups
of unknown codes in a window, 429 with ``Retry-After`` until the window ends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from handoff import wiring
from handoff.logic.tickets import TicketError, TicketNotFound, ticket_view
from handoff.models.api import CreateTicketRequest, RedeemOut, RedeemRequest, TicketOut
from handoff.observability import logger, metrics
from handoff.routes.context_api import customer_context, require_agent
from handoff.settings import get_settings
from omnichannel.auth import Principal
from omnichannel.http_api import ApiError, ErrorBody

router = Router()

_JWT: list[dict[str, list[str]]] = [{"jwt": []}]


def _doc(description: str, model: Any = ErrorBody) -> Any:
    return {"description": description, "content": {"application/json": {"model": model}}}


_COMMON: dict[int, Any] = {401: _doc("No token"), 403: _doc("Not an agent")}
_GUESSING: dict[int, Any] = {429: _doc("Too many failed attempts; Retry-After says when to try again")}


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, default=str),
        headers={"Cache-Control": "no-store"},
    )


def link_base_url() -> str:
    """HANDOFF_LINK_BASE_URL, else PUBLIC_BASE_URL, else the origin this request came to."""
    settings = get_settings()
    configured = settings.handoff_link_base_url.strip() or settings.public_base_url.strip()
    if configured:
        return configured.rstrip("/")
    headers = router.current_event.headers or {}
    host = headers.get("host", "")
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip() or "https"
    return f"{scheme}://{host}" if host else ""


def _unless_guessing(principal: Principal) -> None:
    retry_after = wiring.get_redeem_guard().retry_after(principal.subject, wiring.now())
    if retry_after is not None:
        metrics.add_metric(name="TicketGuessesRefused", unit="Count", value=1)
        raise ApiError(
            429, "too_many_attempts", "too many failed ticket attempts", headers={"Retry-After": str(retry_after)}
        )


def _failed(principal: Principal, error: TicketError) -> ApiError:
    failures = wiring.get_redeem_guard().record_failure(principal.subject, wiring.now())
    metrics.add_metric(name="TicketAttemptsFailed", unit="Count", value=1)
    logger.info("ticket attempt failed", extra={"reason": error.code, "failures_in_window": failures})
    status = 404 if isinstance(error, TicketNotFound) else 410
    return ApiError(status, error.code, str(error))


@router.post(
    "/handoff/tickets",
    summary="Issue a handoff ticket (short code, deep link for digital channels); emits handoff.created",
    responses={
        201: _doc("The ticket", TicketOut),
        400: _doc("The body is malformed (field named)"),
        404: _doc("No such profile"),
        **_COMMON,
    },
    tags=["tickets"],
    security=_JWT,
)
def create_ticket(body: Annotated[CreateTicketRequest, Body()]) -> Response[str]:
    principal = require_agent()
    profile = wiring.get_context_reader().profile(body.profile_id)
    if profile is None:
        raise ApiError(404, "not_found", "no such profile", "profile_id")
    issued = wiring.get_handoff().create(
        profile_id=profile.profile_id,
        from_channel=body.from_channel.value,
        to_channel=body.to_channel.value,
        reason=body.reason,
        note=body.note,
        created_by=principal.subject,
        ttl=timedelta(minutes=body.ttl_minutes),
        link_base_url=link_base_url(),
    )
    metrics.add_metric(name="TicketsIssued", unit="Count", value=1)
    if not issued.announced:
        metrics.add_metric(name="HandoffEventsNotPublished", unit="Count", value=1)
        logger.warning("handoff.created not published", extra={"ticket_id": issued.ticket.ticket_id})
    return _json(201, ticket_view(issued.ticket))


@router.get(
    "/handoff/tickets/<code>",
    summary="Read a ticket (no context)",
    responses={200: _doc("The ticket", TicketOut), 404: _doc("Unknown code"), **_COMMON, **_GUESSING},
    tags=["tickets"],
    security=_JWT,
)
def get_ticket(code: str) -> Response[str]:
    principal = require_agent()
    _unless_guessing(principal)
    ticket = wiring.get_tickets().get(code, wiring.now())
    if ticket is None:
        raise _failed(principal, TicketNotFound("no such ticket"))
    return _json(200, ticket_view(ticket))


@router.post(
    "/handoff/tickets/<code>/redeem",
    summary="Redeem a ticket once and get the customer's context; emits handoff.accepted",
    responses={
        200: _doc("The redeemed ticket and the customer's context", RedeemOut),
        400: _doc("The body is malformed (field named)"),
        404: _doc("Unknown code"),
        410: _doc("Expired (ticket_expired), already used (ticket_used) or voided (ticket_voided)"),
        **_COMMON,
        **_GUESSING,
    },
    tags=["tickets"],
    security=_JWT,
)
def redeem_ticket(code: str, body: Annotated[RedeemRequest, Body()]) -> Response[str]:
    principal = require_agent()
    _unless_guessing(principal)
    try:
        issued = wiring.get_handoff().redeem(
            code, by=principal.subject, channel=body.channel.value, store_id=body.store_id
        )
    except TicketError as error:
        raise _failed(principal, error) from error
    metrics.add_metric(name="TicketsRedeemed", unit="Count", value=1)
    if not issued.announced:
        metrics.add_metric(name="HandoffEventsNotPublished", unit="Count", value=1)
        logger.warning("handoff.accepted not published", extra={"ticket_id": issued.ticket.ticket_id})
    return _json(200, {"ticket": ticket_view(issued.ticket), "context": customer_context(issued.ticket.profile_id)})
