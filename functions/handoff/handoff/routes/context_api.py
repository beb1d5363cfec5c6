"""The agent context: everything an agent or clerk needs on a live call, in one read (agent role only).

Profile summary, a bounded page of the cross-channel timeline, the current cart, the customer's conversations
(open ones first) and each channel's consent.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from handoff import wiring
from handoff.logic.conversations import CaseState, Consent, summary
from omnichannel.auth import Role, principal_from_event

router = Router()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(error: ApiError) -> Response[str]:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"code": error.code, "message": error.message}),
    )


def customer_context(profile_id: str) -> dict[str, Any] | None:
    reader = wiring.get_context_reader()
    profile = reader.profile(profile_id)
    if profile is None:
        return None
    store = wiring.get_conversations().store
    found = {c.contact: c for c in store.of_profile(profile.profile_id)}
    for kind, value in profile.pairs():
        found.update((c.contact, c) for c in store.of_identifier(kind, value))
    conversations = sorted(found.values(), key=lambda c: c.last.at if c.last else "", reverse=True)
    conversations = sorted(conversations, key=lambda c: c.state is not CaseState.OPEN)
    consent: dict[str, str] = {}
    for conversation in conversations:
        if conversation.consent is not None:
            channel = conversation.contact.channel.value
            if consent.get(channel) != Consent.OPTED_OUT.value:  # one opted-out contact silences the channel
                consent[channel] = conversation.consent.value
    page = wiring.get_timeline_reader().page(profile.pairs(), limit=wiring.timeline_limit())
    return {
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
        "consent": consent,
        "last_handoff": None,  # handoff tickets: next step
    }


@router.get("/handoff/customers/<profile_id>/context")
def get_context(profile_id: str) -> Response[str]:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise ApiError(401, "unauthorized", "a token is needed")
    if not principal.at_least(Role.AGENT):
        raise ApiError(403, "forbidden", "needs the agent role")
    context = customer_context(profile_id)
    if context is None:
        raise ApiError(404, "not_found", "no such profile")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(context))
