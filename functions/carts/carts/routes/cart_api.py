"""The cart API: read the cart, add lines, change quantities, remove lines, with version checks.

Two ways in, to the same operations:

- ``/carts/me...`` with a JWT (customer token: ``sub`` is the customer's ``user_id``); agents read any customer's
  cart (``/carts/customers/{customer_id}``, ``/carts/profiles/{profile_id}``), read-only.
- ``/carts/anonymous...`` without a token, for a device not signed in: the header ``X-Anonymous-Id`` names the
  device's cart and is its credential, like a bearer secret. It must be unguessable: a UUIDv4 (122 random bits;
  what analytics.js, the iOS and the Android SDKs generate as their anonymousId). Once the device's cart joined a
  customer's cart at sign-in, the credential alone no longer opens anything (409 ``signed_in``).
- ``POST /carts/me/merge``: the customer signs in on a device: their token and the device's credential together
  bring the device's cart into theirs. Nothing else does (not an analytics identify, not a profile merge).

Every answer carries the cart's ``version`` and an ``ETag`` (``"<cart_id>.<version>"``). A write may send
``If-Match`` (that ETag, or the bare version): if the cart moved on, 412 and nothing changes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from carts import wiring
from carts.logic.cart import Cart, Line, OwnerKind, add_line, cart_key, remove_line, set_quantity
from carts.logic.cart_merge import home_key
from carts.logic.cart_service import Expected, SignedIn
from carts.logic.sign_in import sign_in
from carts.models.api import AddLineRequest, CartOut, ChangeQuantityRequest, SavedCartOut, SavedCartsOut
from carts.models.api import cart_out as to_cart_out
from carts.observability import logger, metrics
from omnichannel.auth import Principal, Role, principal_from_event
from omnichannel.http_api import ApiError, ErrorBody

router = Router()

ANONYMOUS_HEADER = "x-anonymous-id"
# A UUIDv4 (version 4, RFC 4122 variant): 122 random bits, as the SDKs generate anonymous ids. Either case.
_ANONYMOUS_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_IF_MATCH = re.compile(r'^(?:W/)?"?(?:(?P<cart>[0-9a-f-]{36})\.)?(?P<version>\d{1,12})"?$')


def _json(model: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"model": model}}}


_READ_ANSWERS: dict[int, Any] = {
    200: {"description": "The cart, with its version (and ETag)", **_json(CartOut)},
    401: {"description": "No token, or no X-Anonymous-Id", **_json(ErrorBody)},
    403: {"description": "Not this caller's cart", **_json(ErrorBody)},
}
_WRITE_ANSWERS: dict[int, Any] = {
    **_READ_ANSWERS,
    400: {"description": "The body or If-Match is malformed (fields named)", **_json(ErrorBody)},
    404: {"description": "No such line", **_json(ErrorBody)},
    409: {"description": "Another currency than the cart's, or too many lines", **_json(ErrorBody)},
    412: {
        "description": "If-Match names an older version: nothing changed; the body is the current cart",
        **_json(CartOut),
    },
    503: {"description": "Too many concurrent writers; try again", **_json(ErrorBody)},
}
_MERGE_ANSWERS: dict[int, Any] = {
    **_READ_ANSWERS,
    400: {"description": "X-Anonymous-Id is not a UUIDv4", **_json(ErrorBody)},
    503: {"description": "Too many concurrent writers; try again", **_json(ErrorBody)},
}
# The device's own routes: a malformed credential (400), a device that signed in since (409).
_DEVICE_READ_ANSWERS: dict[int, Any] = {
    **_READ_ANSWERS,
    400: {"description": "X-Anonymous-Id is not a UUIDv4", **_json(ErrorBody)},
    409: {"description": "The device's cart joined a customer's at sign-in: use /carts/me", **_json(ErrorBody)},
}
_DEVICE_WRITE_ANSWERS: dict[int, Any] = {
    **_WRITE_ANSWERS,
    409: {
        "description": "Another currency than the cart's, too many lines, or the device signed in since",
        **_json(ErrorBody),
    },
}
_SAVED_ANSWERS: dict[int, Any] = {200: {"description": "The saved carts", **_json(SavedCartsOut)}}
_PROFILE_ANSWERS: dict[int, Any] = {
    **_READ_ANSWERS,
    404: {"description": "No cart known for this profile", **_json(ErrorBody)},
}


_JWT: list[dict[str, list[str]]] = [{"jwt": []}]
_DEVICE: list[dict[str, list[str]]] = [{"anonymousId": []}]


def etag(cart: Cart) -> str:
    return f'"{cart.cart_id}.{cart.version}"'


def cart_response(cart: Cart, *, show_profile: bool, status: int = 200) -> Response[str]:
    body = to_cart_out(cart, wiring.get_service().rules.default_currency, show_profile=show_profile)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers={"ETag": etag(cart), "Cache-Control": "no-store"},
    )


def _principal() -> Principal:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    return principal


def _customer_key() -> str:
    return cart_key(OwnerKind.USER_ID, _principal().subject)


def _device_credential() -> str:
    value = (router.current_event.headers or {}).get(ANONYMOUS_HEADER, "")
    if not value:
        raise ApiError(401, "anonymous_id_required", "send the device's cart credential in X-Anonymous-Id")
    if not _ANONYMOUS_ID.match(value):
        raise ApiError(
            400,
            "invalid_anonymous_id",
            "X-Anonymous-Id must be a UUIDv4 (an unguessable id the device generated, e.g. its analytics anonymousId)",
            "header.x-anonymous-id",
        )
    return value


def _anonymous_key() -> str:
    return cart_key(OwnerKind.ANONYMOUS_ID, _device_credential())


def _signed_in(error: SignedIn) -> ApiError:
    return ApiError(
        409,
        "signed_in",
        "this device's cart joined a customer's cart at sign-in: read it with the customer's token (/carts/me)",
    )


def expected_version() -> Expected | None:
    header = (router.current_event.headers or {}).get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _IF_MATCH.match(header.strip())
    if match is None:
        raise ApiError(
            400, "invalid_if_match", 'If-Match must be the ETag ("<cart_id>.<version>") or a version', "header.if-match"
        )
    return Expected(version=int(match["version"]), cart_id=match["cart"])


# ---------------------------------------------------------------------------------------------- operations


def _announce(cart: Cart) -> None:
    """cart.updated after an API write: best effort (the write stands; a refusal is logged and counted)."""
    service = wiring.get_service()
    metrics.add_metric(name="CartWrites", unit="Count", value=1)
    if service.announce([service.updated_event(cart, None)]):
        metrics.add_metric(name="CartUpdatesNotPublished", unit="Count", value=1)
        logger.warning("cart.updated not published", extra={"cart_id": cart.cart_id, "version": cart.version})


def _read(key: str, *, show_profile: bool) -> Response[str]:
    metrics.add_metric(name="CartReads", unit="Count", value=1)
    try:
        # A customer's key is never a pointer; a device's that is (it joined at sign-in) is not followed.
        cart = wiring.get_service().resolve(key, follow=show_profile)
    except SignedIn as error:
        raise _signed_in(error) from error
    return cart_response(cart, show_profile=show_profile)


def _mutate(key: str, change: Any, *, show_profile: bool) -> Any:
    try:
        return wiring.get_service().mutate(key, change, expected=expected_version(), follow=show_profile)
    except SignedIn as error:
        raise _signed_in(error) from error


def _add(key: str, body: AddLineRequest, *, show_profile: bool) -> Response[str]:
    service = wiring.get_service()
    line = Line(
        product_id=body.product_id,
        quantity=body.quantity,
        unit_price=body.unit_price,
        variant=body.variant,
        sku=body.sku,
        name=body.name,
    )
    outcome = _mutate(
        key,
        lambda cart: add_line(cart, line, service.rules.limits, service.clock(), None, body.currency),
        show_profile=show_profile,
    )
    _announce(outcome.cart)
    return cart_response(outcome.cart, show_profile=show_profile)


def _change(key: str, line_id: str, quantity: int, *, show_profile: bool) -> Response[str]:
    service = wiring.get_service()
    outcome = _mutate(
        key,
        lambda cart: set_quantity(cart, line_id, quantity, service.rules.limits, service.clock(), None),
        show_profile=show_profile,
    )
    if outcome.changed:
        _announce(outcome.cart)
    return cart_response(outcome.cart, show_profile=show_profile)


def _remove(key: str, line_id: str, *, show_profile: bool) -> Response[str]:
    service = wiring.get_service()
    outcome = _mutate(key, lambda cart: remove_line(cart, line_id, service.clock(), None), show_profile=show_profile)
    _announce(outcome.cart)
    return cart_response(outcome.cart, show_profile=show_profile)


# ---------------------------------------------------------------------------------------------- with a token


@router.get("/carts/me", summary="The caller's cart", responses=_READ_ANSWERS, tags=["carts"], security=_JWT)
def get_my_cart() -> Response[str]:
    return _read(_customer_key(), show_profile=True)


@router.post(
    "/carts/me/lines",
    summary="Add a product to the caller's cart",
    responses=_WRITE_ANSWERS,
    tags=["carts"],
    security=_JWT,
)
def add_to_my_cart(body: Annotated[AddLineRequest, Body()]) -> Response[str]:
    return _add(_customer_key(), body, show_profile=True)


@router.patch(
    "/carts/me/lines/<line_id>",
    summary="Change a line's quantity (0 removes it)",
    responses=_WRITE_ANSWERS,
    tags=["carts"],
    security=_JWT,
)
def change_my_line(line_id: str, body: Annotated[ChangeQuantityRequest, Body()]) -> Response[str]:
    return _change(_customer_key(), line_id, body.quantity, show_profile=True)


@router.delete(
    "/carts/me/lines/<line_id>", summary="Remove a line", responses=_WRITE_ANSWERS, tags=["carts"], security=_JWT
)
def remove_my_line(line_id: str) -> Response[str]:
    return _remove(_customer_key(), line_id, show_profile=True)


@router.post(
    "/carts/me/merge",
    summary="Sign-in on a device: its cart (X-Anonymous-Id, the device's credential) joins the caller's cart",
    responses=_MERGE_ANSWERS,
    tags=["carts"],
    security=[{"jwt": [], "anonymousId": []}],
)
def merge_device_cart() -> Response[str]:
    principal = _principal()
    result = sign_in(wiring.get_service(), principal.subject, _device_credential())
    metrics.add_metric(name="CartsMerged", unit="Count", value=len(result.merged))
    if result.failed:
        logger.warning("cart events not published", extra={"failed": len(result.failed)})
    return cart_response(result.cart, show_profile=True)


@router.get(
    "/carts/me/saved",
    summary="Carts kept aside by a login in replace mode",
    responses=_SAVED_ANSWERS,
    tags=["carts"],
    security=_JWT,
)
def my_saved_carts() -> SavedCartsOut:
    service = wiring.get_service()
    home = service.resolve(_customer_key())
    saved = service.store.saved_carts(home.key)
    out = []
    for cart in saved:
        as_cart = Cart(key=home.key, currency=cart.currency, lines=cart.lines)
        view = to_cart_out(as_cart, service.rules.default_currency, show_profile=False)
        out.append(
            SavedCartOut(
                cart_id=cart.from_key,
                version=cart.from_version,
                currency=cart.currency,
                lines=view.lines,
                total=view.total,
            )
        )
    return SavedCartsOut(saved=out)


@router.get(
    "/carts/customers/<customer_id>",
    summary="A customer's cart (the customer themselves, or an agent: read-only)",
    responses=_READ_ANSWERS,
    tags=["carts"],
    security=_JWT,
)
def customer_cart(customer_id: str) -> Response[str]:
    if not _principal().may_access_customer(customer_id):
        raise ApiError(403, "forbidden", "a customer reaches only their own cart")
    return _read(cart_key(OwnerKind.USER_ID, customer_id), show_profile=True)


@router.get(
    "/carts/profiles/<profile_id>",
    summary="A profile's cart, for agents and clerks (read-only)",
    responses=_PROFILE_ANSWERS,
    tags=["carts"],
    security=_JWT,
)
def profile_cart(profile_id: str) -> Response[str]:
    if not _principal().at_least(Role.AGENT):
        raise ApiError(403, "forbidden", "needs the agent role")
    store = wiring.get_service().store
    mirror = store.profile(profile_id)
    hops = 0
    while mirror is not None and mirror.merged_into and hops < 8:
        mirror = store.profile(mirror.merged_into)
        hops += 1
    home = home_key(mirror.identifiers) if mirror else None
    if home is None:
        raise ApiError(404, "not_found", "no cart is known for this profile")
    return _read(home, show_profile=True)


# ---------------------------------------------------------------------------------------------- anonymous device


@router.get(
    "/carts/anonymous",
    summary="The device's cart (X-Anonymous-Id)",
    responses=_DEVICE_READ_ANSWERS,
    tags=["anonymous"],
    security=_DEVICE,
)
def get_device_cart() -> Response[str]:
    return _read(_anonymous_key(), show_profile=False)


@router.post(
    "/carts/anonymous/lines",
    summary="Add a product to the device's cart",
    responses=_DEVICE_WRITE_ANSWERS,
    tags=["anonymous"],
    security=_DEVICE,
)
def add_to_device_cart(body: Annotated[AddLineRequest, Body()]) -> Response[str]:
    return _add(_anonymous_key(), body, show_profile=False)


@router.patch(
    "/carts/anonymous/lines/<line_id>",
    summary="Change a line's quantity in the device's cart",
    responses=_DEVICE_WRITE_ANSWERS,
    tags=["anonymous"],
    security=_DEVICE,
)
def change_device_line(line_id: str, body: Annotated[ChangeQuantityRequest, Body()]) -> Response[str]:
    return _change(_anonymous_key(), line_id, body.quantity, show_profile=False)


@router.delete(
    "/carts/anonymous/lines/<line_id>",
    summary="Remove a line from the device's cart",
    responses=_DEVICE_WRITE_ANSWERS,
    tags=["anonymous"],
    security=_DEVICE,
)
def remove_device_line(line_id: str) -> Response[str]:
    return _remove(_anonymous_key(), line_id, show_profile=False)
