"""The profiles API: read, lookup by identifier, timeline, merge log and suggested matches, unmerge, erasure,
the customer's proof of their identifiers, and the staff reports of blocked and suppressed values.

Every route sits behind the JWT authorizer. A customer's token reaches only their own profile (the one holding
``user_id`` = the token's ``sub``), and of it only what verified links tie to their customer id; an agent's
reaches any; erasure, unmerge, unblocking and lifting a suppression need an admin. Staff roles need an access
token (``omnichannel.auth``).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from omnichannel.auth import Forbidden, Principal, Role, principal_from_event
from omnichannel.http_api import ApiError, ErrorBody, FieldError
from omnichannel.identifiers import (
    IdentifierType,
    InvalidIdentifier,
    identifier_digest,
    normalize,
    parse_identifier_key,
)
from omnichannel.timeline_reader import BadCursor, TimelineOwner
from profiles import wiring
from profiles.logic.erasure import AlreadyErased, NotAnnounced, erase_customer
from profiles.logic.ports import ConcurrentChange, Conflict, NotFound
from profiles.logic.unmerge import undo_merge as undo
from profiles.logic.verification import confirm_match, prove
from profiles.models.api import (
    BlockedValueOut,
    BlockedValuesOut,
    ConfirmOut,
    ConflictOut,
    ErasureOut,
    IdentifierOut,
    LiftedOut,
    MergeLogOut,
    MergeOut,
    ProfileOut,
    RefusedIdentifierOut,
    SuggestionOut,
    TimelineOut,
    UnmergeOut,
    VerifiedIdentifiersOut,
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
    403: _error("The token's role may not do this (staff roles need an access token)"),
    404: _error("No such profile, or not the caller's own"),
}

ProfileId = Annotated[str, Path(min_length=1, max_length=64, description="A profile id (a merged one is followed)")]
IdentifierKey = Annotated[
    str, Path(min_length=3, max_length=300, description="type:value, e.g. email:ayse@posta.com.tr")
]


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
    if not principal.at_least(Role.AGENT) and profile.customer_id != principal.subject:
        raise ApiError(404, "not_found", f"no profile {profile_id}")
    return profile


def _identifier(name: str, raw: str) -> tuple[IdentifierType, str]:
    try:
        return parse_identifier_key(raw, default_region=get_settings().default_phone_region)
    except InvalidIdentifier as exc:
        raise ApiError(400, "invalid_identifier", str(exc), errors=[FieldError(name, exc.reason)]) from exc


@router.get(
    "/profiles/me",
    responses=_answers(ProfileOut, "The caller's profile: what verified links tie to their customer id"),
    summary="The caller's own profile (customer token: user_id = sub)",
)
def my_profile() -> ProfileOut:
    principal = _caller()
    profile = wiring.get_store().owner_of((IdentifierType.USER_ID, principal.subject))
    if profile is None:
        raise ApiError(404, "not_found", "no profile holds your customer id yet")
    return ProfileOut.of(profile, customer=True)


@router.post(
    "/profiles/me/verified-identifiers",
    responses=_answers(
        VerifiedIdentifiersOut,
        "The identifiers the token proved, linked to the caller's account",
        e409=_error("Changed meanwhile (try again), or the customer id is suppressed"),
    ),
    summary="Link the e-mail and phone the caller's ID token proves (email_verified / phone_number_verified)",
)
def verify_my_identifiers() -> VerifiedIdentifiersOut:
    principal = _caller()
    proven: dict[IdentifierType, str] = {}
    region = get_settings().default_phone_region
    problems: list[FieldError] = []
    for kind, claim, value in (
        (IdentifierType.EMAIL, "email", principal.verified_email),
        (IdentifierType.PHONE, "phone_number", principal.verified_phone),
    ):
        if value is None:
            continue
        try:
            proven[kind] = normalize(kind, value, default_region=region)
        except InvalidIdentifier as exc:
            problems.append(FieldError(f"header.authorization.{claim}", exc.reason))
    if not proven:
        problems = problems or [
            FieldError("header.authorization.email_verified", "send an ID token whose email_verified is true"),
            FieldError("header.authorization.phone_number_verified", "or whose phone_number_verified is true"),
        ]
        raise ApiError(
            400, "nothing_verified", "the token proves no e-mail or phone (access tokens carry none)", errors=problems
        )
    try:
        outcome = prove(wiring.get_resolver(), principal.subject, proven, wiring.now())
    except ConcurrentChange as exc:
        raise ApiError(409, "concurrent_change", "the profile changed meanwhile; try again") from exc
    profile = wiring.get_store().owner_of((IdentifierType.USER_ID, principal.subject))
    if profile is None:
        raise ApiError(409, "not_linked", "your customer id could not be linked (it is suppressed or blocked)")
    logger.info("identifiers proven", extra={"linked": len(outcome.linked), "refused": len(outcome.refused)})
    return VerifiedIdentifiersOut(
        profile=ProfileOut.of(profile, customer=True),
        linked=[IdentifierOut(identifier_type=kind.value, value=value) for kind, value in outcome.linked],
        refused=[
            RefusedIdentifierOut(identifier_type=identifier[0].value, reason=reason)
            for identifier, reason in outcome.refused
            if identifier[0] is not IdentifierType.USER_ID
        ],
    )


@router.get(
    "/profiles/blocked-identifiers",
    responses=_answers(BlockedValuesOut, "Values blocked for being on too many profiles"),
    summary="Values seen on too many profiles (a kiosk, a shared tablet, a test e-mail), blocked (agents)",
)
def blocked_identifiers() -> BlockedValuesOut:
    _require(_caller(), Role.AGENT)
    return BlockedValuesOut(
        blocked=[BlockedValueOut(**value.__dict__) for value in wiring.get_store().blocked_values()]
    )


@router.delete(
    "/profiles/blocked-identifiers/<identifier>",
    responses=_answers(LiftedOut, "The value links again"),
    summary="Let a blocked value link again (admins)",
)
def unblock_identifier(identifier: IdentifierKey) -> LiftedOut:
    principal = _caller()
    _require(principal, Role.ADMIN)
    found = _identifier("path.identifier", identifier)
    lifted = wiring.get_store().unblock(found)
    logger.info("identifier unblocked", extra={"identifier_type": found[0].value, "by": principal.subject})
    return LiftedOut(identifier_type=found[0].value, lifted=lifted)


@router.delete(
    "/profiles/suppressions/<identifier>",
    responses=_answers(LiftedOut, "The identifier may build a profile again"),
    summary="Lift an erased identifier's suppression, when the customer came back on purpose (admins)",
)
def lift_suppression(identifier: IdentifierKey) -> LiftedOut:
    principal = _caller()
    _require(principal, Role.ADMIN)
    found = _identifier("path.identifier", identifier)
    lifted = wiring.get_store().lift_suppression(identifier_digest(*found))
    logger.info("suppression lifted", extra={"identifier_type": found[0].value, "by": principal.subject})
    return LiftedOut(identifier_type=found[0].value, lifted=lifted)


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
    found = _identifier(f"query.{name}", f"{name}:{raw}" if name != "identifier" else raw)
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
    principal = _caller()
    profile = _reachable(principal, profile_id)
    return ProfileOut.of(profile, requested_id=profile_id, customer=not principal.at_least(Role.AGENT))


@router.get(
    "/profiles/<profile_id>/timeline",
    responses=_answers(TimelineOut, "One page of the timeline, newest first"),
    summary="The profile's events across every channel, newest first",
)
def timeline(
    profile_id: ProfileId,
    limit: Annotated[int, Query(ge=1, le=200, description="Events per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> TimelineOut:
    principal = _caller()
    profile = _reachable(principal, profile_id)
    owner = TimelineOwner(
        profile_id=profile.profile_id,
        merged_spans=profile.merged_spans,
        identifiers=frozenset(profile.identifier_pairs()),
        visible=None if principal.at_least(Role.AGENT) else frozenset(profile.anchored()),
    )
    try:
        page = wiring.get_timeline().page(owner, limit=min(limit, get_settings().timeline_page_max), cursor=cursor)
    except BadCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc), "query.cursor") from exc
    return TimelineOut(profile_id=profile.profile_id, events=page.events, next_cursor=page.cursor)


@router.get(
    "/profiles/<profile_id>/merges",
    responses=_answers(MergeLogOut, "Merges into this profile, recorded conflicts and suggested matches"),
    summary="The merge log, recorded conflicts and suggested matches (agents)",
)
def merge_log(profile_id: ProfileId) -> MergeLogOut:
    principal = _caller()
    _require(principal, Role.AGENT)
    profile = _reachable(principal, profile_id)
    store = wiring.get_store()
    merges = [
        MergeOut(
            merge_id=record.merge_id,
            survivor_id=record.survivor_id,
            merged_id=record.merged_id,
            rule=record.rule,
            cause_event_id=record.cause_event_id,
            merged_at=record.merged_at,
            moved_identifiers=record.moved_identifiers,
            undone_at=record.undone_at,
        )
        for record in store.merges_of(profile.profile_id)
    ]
    conflicts = [ConflictOut(**conflict) for conflict in store.conflicts_of(profile.profile_id)]
    suggestions = [
        SuggestionOut(
            other_id=match.other_id,
            identifier_type=match.identifier_type,
            reason=match.reason,
            cause_event_id=match.cause_event_id,
            at=match.at,
        )
        for match in store.suggestions_of(profile.profile_id)
    ]
    return MergeLogOut(profile_id=profile.profile_id, merges=merges, conflicts=conflicts, suggestions=suggestions)


@router.post(
    "/profiles/<profile_id>/suggestions/<other_id>/confirm",
    responses=_answers(
        ConfirmOut, "The two profiles, merged", e409=_error("A limit or an undone merge keeps them apart")
    ),
    summary="Confirm a suggested match: the two profiles merge (agents)",
)
def confirm_suggestion(profile_id: ProfileId, other_id: ProfileId) -> ConfirmOut:
    principal = _caller()
    _require(principal, Role.AGENT)
    store = wiring.get_store()
    profile = _reachable(principal, profile_id)
    match = next((item for item in store.suggestions_of(profile.profile_id) if item.other_id == other_id), None)
    if match is None:
        raise ApiError(404, "not_found", f"profile {profile.profile_id} has no suggested match with {other_id}")
    try:
        resolution = confirm_match(
            wiring.get_resolver(),
            store,
            wiring.get_rules(),
            profile.profile_id,
            other_id,
            match.identifier_type,
            principal.subject,
            wiring.now(),
        )
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    store.forget_suggestion(profile.profile_id, other_id)
    survivor = store.get_profile(str(resolution.profile_id))
    if survivor is None:
        raise ApiError(409, "conflict", "the merged profile is gone")
    logger.info("suggested match confirmed", extra={"survivor_id": survivor.profile_id, "by": principal.subject})
    return ConfirmOut(survivor=ProfileOut.of(survivor), merged_ids=list(resolution.merged_ids))


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
        kept, restored = undo(wiring.get_store(), profile_id, merge_id, now=wiring.now())
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
    try:
        result = erase_customer(
            wiring.get_store(), wiring.get_publisher(), profile_id, requested_by=principal.subject, now=wiring.now()
        )
    except AlreadyErased as exc:
        raise ApiError(410, "erased", f"profile {profile_id} was erased") from exc
    except NotFound as exc:
        raise ApiError(404, "not_found", f"no profile {profile_id}") from exc
    except NotAnnounced as exc:
        raise ApiError(
            503, "bus_unavailable", "the erasure could not be announced; nothing was deleted, try again"
        ) from exc
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
