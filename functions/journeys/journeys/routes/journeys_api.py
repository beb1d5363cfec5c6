"""Staff routes (agents and admins, JWT): the journeys, one journey's funnel and lift, one customer's journeys."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from journeys import wiring
from journeys.logic.funnel import funnel, trigger_summary
from journeys.logic.ports import StoredEffect
from journeys.models.api import (
    CustomerJourneys,
    JourneyDetail,
    JourneyList,
    JourneySummary,
    RunView,
    SentStatus,
    SentView,
)
from journeys.models.definition import JourneyDefinition
from journeys.models.state import Group
from omnichannel.auth import Principal, Role, principal_from_event
from omnichannel.http_api import ApiError, ErrorBody

router = Router()
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,128}$"
_JWT: list[dict[str, list[str]]] = [{"jwt": []}]


def _doc(description: str, model: Any = ErrorBody) -> Any:
    return {"description": description, "content": {"application/json": {"model": model}}}


_STAFF: dict[int, Any] = {403: _doc("Not an agent or admin")}


class Unauthorized(ApiError):
    """No verified caller."""

    def __init__(self) -> None:
        super().__init__(401, "unauthorized", "a verified token is required")


class NotFound(ApiError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(404, "not_found", message, field)


def _staff() -> Principal:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise Unauthorized
    principal.require(Role.AGENT)
    return principal


def _summary(definition: JourneyDefinition, figures: dict[str, Any]) -> JourneySummary:
    goal = definition.goal
    return JourneySummary(
        id=definition.id,
        version=definition.version,
        name=definition.name,
        description=definition.description,
        enabled=definition.enabled,
        trigger=trigger_summary(definition),
        holdout=definition.entry.holdout,
        goal=f"{goal.event} within {goal.within}" if goal else None,
        entered=figures["entered"],
        held_out=figures["held_out"],
        converted=figures["converted"],
        converted_held_out=figures["converted_held_out"],
        lift=figures["lift"],
    )


@router.get(
    "/journeys",
    summary="The journeys in force, with their headline figures and lift",
    responses={200: _doc("The journeys", JourneyList), **_STAFF},
    security=_JWT,
)
def list_journeys() -> JourneyList:
    _staff()
    store = wiring.get_store()
    return JourneyList(journeys=[_summary(d, funnel(d, store.counters(d.id))) for d in wiring.get_registry().current()])


@router.get(
    "/journeys/<journey_id>",
    summary="One journey's funnel: entered, each step, sent, converted, lift",
    responses={200: _doc("The journey and its funnel", JourneyDetail), 404: _doc("No such journey"), **_STAFF},
    security=_JWT,
)
def get_journey(journey_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> JourneyDetail:
    _staff()
    definition = wiring.get_registry().latest(journey_id)
    if definition is None:
        raise NotFound("path.journey_id", f"no journey {journey_id!r}")
    figures = funnel(definition, wiring.get_store().counters(journey_id))
    return JourneyDetail(journey=_summary(definition, figures), funnel=figures)


@router.get(
    "/journeys/customers/<profile_id>",
    summary="The journeys a customer is in (or was) and what they were sent",
    responses={200: _doc("The customer's runs and what was sent", CustomerJourneys), **_STAFF},
    security=_JWT,
)
def get_customer(profile_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> CustomerJourneys:
    _staff()
    customer = wiring.get_customers().survivor_of(profile_id) or profile_id
    state = wiring.get_store().load(customer)
    registry = wiring.get_registry()
    runs = []
    for run in sorted(state.runs.values(), key=lambda item: item.entered_at, reverse=True):
        definition = registry.latest(run.journey_id)
        runs.append(
            RunView(
                journey_id=run.journey_id,
                journey_name=definition.name if definition else None,
                version=run.version,
                run=run.run,
                group=run.group.value,
                held_out=run.group is Group.HOLDOUT,
                status=run.status.value,
                step=run.step,
                step_since=run.step_at if run.step is not None else None,
                entered_at=run.entered_at,
                due_at=run.due_at,
                goal_until=run.goal_until,
                converted_at=run.converted_at,
                ended_at=run.ended_at,
                end_reason=run.end_reason,
                survey_open=run.survey is not None,
                answers=[
                    {"step": a.step_id, "kind": a.kind, "score": a.score, "answered_at": a.answered_at, "via": a.via}
                    for a in run.answers
                ],
            )
        )
    sent = [_sent_view(effect) for effect in reversed(wiring.get_store().effects(customer))]
    return CustomerJourneys(profile_id=customer, journeys=runs, sent=sent)


def _sent_view(effect: StoredEffect) -> SentView:
    ended = effect.delivery
    return SentView(
        event_id=effect.event_id,
        kind=effect.kind,
        journey_id=effect.journey_id,
        step_id=effect.step_id,
        channel=effect.channel,
        at=effect.created_at,
        announced=effect.published_at is not None,
        status=_status(effect),
        delivered_at=ended.at if ended else None,
        delivered_channel=ended.channel if ended else None,
        delivery_error=ended.error_code if ended else None,
        details=effect.summary,
    )


_ENDS: dict[str, SentStatus] = {"sent": "sent", "failed": "failed", "cancelled": "cancelled"}


def _status(effect: StoredEffect) -> SentStatus:
    if effect.delivery is not None and effect.delivery.state in _ENDS:
        return _ENDS[effect.delivery.state]
    return "requested" if effect.published_at is not None else "pending"
