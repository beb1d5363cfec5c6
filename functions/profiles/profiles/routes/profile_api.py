"""The profiles API: read, lookup by identifier, timeline, merge log, unmerge, erasure.

Every route sits behind the JWT authorizer. A customer's token reaches only their own profile (the one holding
``user_id`` = the token's ``sub``); an agent's reaches any; erasure and unmerge need an admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from omnichannel.auth import Forbidden, Principal, Role, principal_from_event
from omnichannel.event_bus import BusEvent
from omnichannel.http_api import ApiError, ErrorBody, FieldError
from omnichannel.identifiers import IdentifierType, InvalidIdentifier, parse_identifier_key
from omnichannel.profile_events import PROFILES_SOURCE, ProfileErased, ProfileEventType, profile_event_id
from omnichannel.timeline_reader import BadCursor
from profiles import wiring
from profiles.dal.profile_store import ConcurrentChange, Conflict, NotFound
from profiles.models.api import (
    ConflictOut,
    ErasureOut,
    MergeLogOut,
    MergeOut,
    ProfileOut,
    TimelineOut,
    UnmergeOut,
)
from profiles.models.profile import Profile
from profiles.observability import logger
from profiles.settings import get_settings

router = Router()


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


def _answers(model: type, description: str, **extra: dict[str, Any]) -> dict[int, Any]:
    answers: dict[int, Any] = {200: {"description": description, "content": {"application/json": {"model": model}}}}
    answers.update(_READ_ERRORS)
    answers.update({int(code.removeprefix("e")): answer for code, answer in extra.items()})
    return answers


_READ_ERRORS: dict[int, Any] = {
    400: _error("Bad input; `errors` names each field"),
    401: _error("No or invalid bearer token"),
    403: _error("The token's role may not do this"),
    404: _error("No such profile, or not the caller's own"),
}

ProfileId = Annotated[str, Path(min_length=1, max_length=64, description="A profile id (a merged one is followed)")]


def _caller() -> Principal:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    return principal


def _require(principal: Principal, role: Role) -> None:
    try:
        principal.require(role)
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from exc


def _reachable(principal: Principal, profile_id: str) -> Profile:
    """The profile (followed to its survivor) if the caller may see it; 404 also when they may not, so a
    customer cannot probe which ids exist."""
    profile = wiring.get_store().get_profile(profile_id)
    if profile is None:
        raise ApiError(404, "not_found", f"no profile {profile_id}")
    if not principal.at_least(Role.AGENT) and principal.subject not in profile.identifiers.get(
        IdentifierType.USER_ID, set()
    ):
        raise ApiError(404, "not_found", f"no profile {profile_id}")
    return profile


@router.get(
    "/profiles/me",
    responses=_answers(ProfileOut, "The caller's profile"),
    summary="The caller's own profile (customer token: user_id = sub)",
)
def my_profile() -> ProfileOut:
    principal = _caller()
    profile = wiring.get_store().owner_of((IdentifierType.USER_ID, principal.subject))
    if profile is None:
        raise ApiError(404, "not_found", "no profile holds your customer id yet")
    return ProfileOut.of(profile)


@router.get(
    "/profiles",
    responses=_answers(ProfileOut, "The profile holding the identifier"),
    summary="Find the profile of an identifier (agents)",
)
def lookup(
    email: Annotated[str | None, Query(description="An e-mail address")] = None,
    phone: Annotated[str | None, Query(description="A phone number, +E.164 or national")] = None,
    identifier: Annotated[str | None, Query(description="type:value, e.g. loyalty_card:TR123")] = None,
) -> ProfileOut:
    principal = _caller()
    _require(principal, Role.AGENT)
    given = {name: value for name, value in (("email", email), ("phone", phone), ("identifier", identifier)) if value}
    if len(given) != 1:
        raise ApiError(
            400,
            "invalid_request",
            "give exactly one of email, phone, identifier",
            errors=[
                FieldError(f"query.{name}", "give exactly one")
                for name in (given or {"email": "", "phone": "", "identifier": ""})
            ],
        )
    ((name, raw),) = given.items()
    key = f"{name}:{raw}" if name != "identifier" else raw
    try:
        found = parse_identifier_key(key, default_region=get_settings().default_phone_region)
    except InvalidIdentifier as exc:
        raise ApiError(400, "invalid_identifier", str(exc), errors=[FieldError(f"query.{name}", exc.reason)]) from exc
    profile = wiring.get_store().owner_of(found)
    if profile is None:
        raise ApiError(404, "not_found", f"no profile holds that {found[0].value}")
    return ProfileOut.of(profile)


@router.get(
    "/profiles/<profile_id>",
    responses=_answers(ProfileOut, "The profile (its survivor if merged)"),
    summary="A profile by id; a merged id answers with its survivor",
)
def read_profile(profile_id: ProfileId) -> ProfileOut:
    profile = _reachable(_caller(), profile_id)
    return ProfileOut.of(profile, requested_id=profile_id)


@router.get(
    "/profiles/<profile_id>/timeline",
    responses=_answers(TimelineOut, "One page of the timeline, newest first"),
    summary="Every channel's events of the profile, newest first",
)
def timeline(
    profile_id: ProfileId,
    limit: Annotated[int, Query(ge=1, le=200, description="Events per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> TimelineOut:
    profile = _reachable(_caller(), profile_id)
    identifiers = sorted(profile.identifier_pairs())
    try:
        page = wiring.get_timeline().page(
            identifiers, limit=min(limit, get_settings().timeline_page_max), cursor=cursor
        )
    except BadCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc), "query.cursor") from exc
    return TimelineOut(profile_id=profile.profile_id, events=page.events, next_cursor=page.cursor)


@router.get(
    "/profiles/<profile_id>/merges",
    responses=_answers(MergeLogOut, "Merges into this profile and recorded conflicts"),
    summary="The merge log and recorded conflicts (agents)",
)
def merge_log(profile_id: ProfileId) -> MergeLogOut:
    principal = _caller()
    _require(principal, Role.AGENT)
    profile = _reachable(principal, profile_id)
    store = wiring.get_store()
    merges = [MergeOut(**record.__dict__) for record in store.merges_of(profile.profile_id)]
    conflicts = [ConflictOut(**conflict) for conflict in store.conflicts_of(profile.profile_id)]
    return MergeLogOut(profile_id=profile.profile_id, merges=merges, conflicts=conflicts)


@router.post(
    "/profiles/<profile_id>/merges/<merge_id>/undo",
    responses=_answers(
        UnmergeOut, "Both profiles as they are now", e409=_error("Undone already, or changed meanwhile")
    ),
    summary="Undo a wrong merge (admins)",
)
def undo_merge(profile_id: ProfileId, merge_id: Annotated[str, Path(min_length=1, max_length=64)]) -> UnmergeOut:
    principal = _caller()
    _require(principal, Role.ADMIN)
    try:
        kept, restored = wiring.get_store().undo_merge(profile_id, merge_id, now=wiring.now())
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    except ConcurrentChange as exc:
        raise ApiError(409, "concurrent_change", "the profiles changed meanwhile; try again") from exc
    logger.info("merge undone", extra={"merge_id": merge_id, "survivor_id": kept.profile_id, "by": principal.subject})
    return UnmergeOut(merge_id=merge_id, survivor=ProfileOut.of(kept), restored=ProfileOut.of(restored))


@router.delete(
    "/profiles/<profile_id>",
    responses=_answers(
        ErasureOut, "Erased", e410=_error("Erased already"), e503=_error("The bus refused; nothing was deleted")
    ),
    summary="Erase a customer (GDPR art. 17 / KVKK art. 7; admins)",
)
def erase(profile_id: ProfileId) -> ErasureOut:
    principal = _caller()
    _require(principal, Role.ADMIN)
    store = wiring.get_store()
    profile = store.get_profile(profile_id)
    if profile is None:
        if store.is_erased(profile_id):
            raise ApiError(410, "erased", f"profile {profile_id} was erased")
        raise ApiError(404, "not_found", f"no profile {profile_id}")
    # Announce first: every function erases its part on profile.erased, which names the identifiers. If the bus
    # refuses, nothing is deleted and the admin retries; if the deletion fails after, a retry announces again
    # (same event id: consumers are idempotent) and deletes the rest.
    erased = ProfileErased(
        event_id=profile_event_id("erased", profile.profile_id, str(profile.version)),
        occurred_at=wiring.now(),
        profile_id=profile.profile_id,
        profile_ids=sorted({profile.profile_id} | profile.merged_ids),
        identifiers={kind: sorted(values) for kind, values in profile.identifiers.items()},
    )
    detail = erased.model_dump(mode="json")
    published = wiring.get_publisher().publish(
        [BusEvent(erased.event_id, PROFILES_SOURCE, ProfileEventType.ERASED.value, detail)]
    )
    if published.failed:
        raise ApiError(503, "bus_unavailable", "the erasure could not be announced; nothing was deleted, try again")
    result = store.erase(profile, requested_by=principal.subject, now=wiring.now())
    logger.info(
        "profile erased",
        extra={"profile_ids": result.profile_ids, "items_deleted": result.items_deleted, "by": principal.subject},
    )
    return ErasureOut(
        profile_id=result.profile_id,
        erased_profile_ids=result.profile_ids,
        identifiers_erased=result.identifiers,
        items_deleted=result.items_deleted,
    )
