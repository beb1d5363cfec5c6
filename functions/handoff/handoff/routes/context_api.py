"""The agent context: everything an agent or clerk needs on a live call, in one read (agent role only).

Profile summary, a bounded page of the cross-channel timeline, the current cart, the customer's conversations
(open ones first), each channel's consent (the same rule the online-to-store offers follow: the newest signal
wins, opt-in only), the preferred channel and the channels a message could go out on now, the last handoff, the
open handoff tickets and the open agent tasks (a journey's "call this customer").

Two ways in: by profile id (``/handoff/customers/{profile_id}/context``), or by the number calling or writing
(``/handoff/context?phone=...`` / ``?whatsapp=...``): the implicit handoff, no code needed, with the open
conversation the caller is most likely continuing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from handoff import wiring
from handoff.logic.agent_tasks import TaskState, by_urgency, task_view
from handoff.logic.conversations import CaseState, Conversation, summary
from handoff.logic.customer_facts import consent_replies
from handoff.logic.tickets import Ticket, TicketState, ticket_view
from handoff.models.api import ContextOut
from handoff.observability import metrics
from handoff.settings import get_settings
from omnichannel.auth import Principal, Role, principal_from_event
from omnichannel.http_api import ApiError, ErrorBody
from omnichannel.identifiers import IdentifierType, InvalidIdentifier, normalize
from omnichannel.reachability import CustomerFacts, reachability

__all__ = ["customer_context", "router"]

router = Router()

_JWT: list[dict[str, list[str]]] = [{"jwt": []}]


def _doc(description: str, model: Any = ErrorBody) -> Any:
    return {"description": description, "content": {"application/json": {"model": model}}}


_ANSWERS: dict[int, Any] = {
    200: _doc("The customer's context", ContextOut),
    401: _doc("No token"),
    403: _doc("Not an agent"),
    404: _doc("No such profile, or nobody holds that number"),
}


def require_agent() -> Principal:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise ApiError(401, "unauthorized", "a token is needed")
    if not principal.at_least(Role.AGENT):
        raise ApiError(403, "forbidden", "needs the agent role")
    return principal


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket in the context: everything but the cart snapshot (the context has the live cart)."""
    view = ticket_view(ticket)
    view.pop("cart_snapshot", None)
    return view


def _conversations(profile_pairs: list[tuple[IdentifierType, str]], profile_id: str) -> list[Conversation]:
    store = wiring.get_conversations().store
    found = {c.contact: c for c in store.of_profile(profile_id)}
    for kind, value in profile_pairs:
        found.update((c.contact, c) for c in store.of_identifier(kind, value))
    conversations = sorted(found.values(), key=lambda c: c.last.at if c.last else "", reverse=True)
    return sorted(conversations, key=lambda c: c.state is not CaseState.OPEN)


def _context(profile_id: str) -> tuple[dict[str, Any], list[Conversation]] | None:
    reader = wiring.get_context_reader()
    profile = reader.profile(profile_id)
    if profile is None:
        return None
    conversations = _conversations(profile.pairs(), profile.profile_id)
    reach = reachability(
        CustomerFacts(
            profile.profile_id, profile.identifiers, profile.traits, profile.trait_times, consent_replies(conversations)
        )
    )
    page = wiring.get_timeline_reader().page(profile.timeline_owner(), limit=wiring.timeline_limit())
    tickets = wiring.get_tickets().of_profile(profile.profile_id, limit=get_settings().context_tickets_limit)
    body = {
        "profile": {
            "profile_id": profile.profile_id,
            "identifiers": profile.identifiers,
            "traits": profile.traits,
            "channels": profile.channels,
            "created_at": profile.created_at,
            "last_seen_at": profile.last_seen_at,
        },
        "timeline": {
            "events": [event.model_dump(mode="json", exclude_none=True) for event in page.events],
            "cursor": page.cursor,
        },
        "cart": reader.cart(profile),
        "conversations": [summary(c) for c in conversations],
        "open_conversations": sum(c.state is CaseState.OPEN for c in conversations),
        "consent": reach.consent,
        "preferred_channel": reach.preferred_channel,
        "reachable_channels": reach.reachable_channels,
        "last_handoff": ticket_summary(tickets[0]) if tickets else None,
        "tickets": [ticket_summary(t) for t in tickets if t.state is TicketState.OPEN],
        "tasks": [
            task_view(task)
            for task in by_urgency(wiring.get_tasks().of_profile(profile.profile_id))
            if task.state is TaskState.OPEN
        ],
    }
    return body, conversations


def customer_context(profile_id: str) -> dict[str, Any] | None:
    """The context of a profile (followed to its survivor), or None if unknown or erased."""
    found = _context(profile_id)
    return found[0] if found else None


def continued_conversation(conversations: list[Conversation], kind: IdentifierType, value: str) -> Conversation | None:
    """The open conversation a caller on ``kind:value`` is continuing: the one their own open case was linked to,
    else the newest open one on another channel, else their own open one."""
    open_ones = [c for c in conversations if c.state is CaseState.OPEN]
    own = [c for c in open_ones if (c.contact.kind, c.contact.value) == (kind, value)]
    by_id = {c.conversation_id: c for c in conversations}
    for conversation in own:
        if conversation.linked_conversation_id in by_id:
            return by_id[conversation.linked_conversation_id]
    others = [c for c in open_ones if c not in own]
    candidates = others or own
    return candidates[0] if candidates else None


def _json_response(body: dict[str, Any]) -> Response[str]:
    metrics.add_metric(name="ContextReads", unit="Count", value=1)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, default=str),
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/handoff/customers/<profile_id>/context",
    summary="Everything an agent needs about a customer, in one read",
    responses=_ANSWERS,
    tags=["context"],
    security=_JWT,
)
def get_context(profile_id: str) -> Response[str]:
    require_agent()
    context = customer_context(profile_id)
    if context is None:
        raise ApiError(404, "not_found", "no such profile")
    return _json_response(context)


def _holder(phone: str | None, whatsapp: str | None) -> tuple[IdentifierType, str, str] | None:
    """(identifier type, normalised value, profile id) of the number asked about; None when nobody holds it."""
    region = get_settings().default_phone_region
    directory = wiring.get_context_reader().directory
    if phone is not None:
        try:
            e164 = normalize(IdentifierType.PHONE, phone, default_region=region)
        except InvalidIdentifier as error:
            raise ApiError(400, "invalid_phone", "phone must be a phone number (E.164 best)", "query.phone") from error
        candidates = [(IdentifierType.PHONE, e164), (IdentifierType.WHATSAPP, e164.lstrip("+"))]
    elif whatsapp is not None:
        try:
            wa_id = normalize(IdentifierType.WHATSAPP, whatsapp, default_region=region)
        except InvalidIdentifier as error:
            raise ApiError(400, "invalid_whatsapp", "whatsapp must be the number's digits", "query.whatsapp") from error
        candidates = [(IdentifierType.WHATSAPP, wa_id), (IdentifierType.PHONE, "+" + wa_id)]
    else:
        raise ApiError(400, "missing_number", "give phone or whatsapp", "query.phone")
    for kind, value in candidates:
        profile_id = directory.profile_of(kind, value)
        if profile_id:
            return candidates[0][0], candidates[0][1], profile_id
    return None


@router.get(
    "/handoff/context",
    summary="Implicit handoff: the context of whoever holds this phone or WhatsApp number",
    responses={
        **_ANSWERS,
        400: _doc("Neither phone nor whatsapp, or not a number (field named)"),
    },
    tags=["context"],
    security=_JWT,
)
def get_context_by_number(
    phone: Annotated[str | None, Query(max_length=40, description="The caller id, E.164 best")] = None,
    whatsapp: Annotated[str | None, Query(max_length=40, description="The WhatsApp wa_id (digits)")] = None,
) -> Response[str]:
    require_agent()
    holder = _holder(phone, whatsapp)
    if holder is None:
        raise ApiError(404, "not_found", "no profile holds that number")
    kind, value, profile_id = holder
    found = _context(profile_id)
    if found is None:
        raise ApiError(404, "not_found", "no profile holds that number")
    body, conversations = found
    continued = continued_conversation(conversations, kind, value)
    body["matched"] = {
        "identifier": kind.value,
        "conversation": summary(continued) if continued else None,
    }
    return _json_response(body)
