"""Stores and their inventory: maintained by admins (store systems with an admin machine token), read by agents.

- ``PUT /handoff/stores/{store_id}`` (admin) ``{"name", "lat", "lon", "time_zone"?, "address"?}``
- ``GET /handoff/stores?lat=&lon=&radius_km=`` (agent): stores within the radius, nearest first
- ``GET /handoff/stores/{store_id}`` (agent)
- ``PUT /handoff/stores/{store_id}/inventory/{sku}`` (admin) ``{"quantity"}``
- ``POST /handoff/stores/{store_id}/inventory`` (admin) ``{"items": [{"sku", "quantity"}]}`` (at most 500)
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnichannel.auth import Role, principal_from_event
from omnichannel.canonical_event import utc_iso
from omnichannel.http_api import ApiError, ErrorBody
from outbound import wiring
from outbound.settings import get_outbound_settings
from outbound.store_offers.geo import Point
from outbound.store_offers.store_offer import Store

router = Router()

MAX_RADIUS_KM = 100.0
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    time_zone: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=500)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError("not an IANA time zone") from error
        return value


class QuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=1_000_000)


class InventoryLine(QuantityIn):
    sku: str = Field(min_length=1, max_length=128, pattern=r"^[^\s#]+$")


class InventoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[InventoryLine] = Field(min_length=1, max_length=500)


class StoreOut(BaseModel):
    store_id: str
    name: str
    lat: float
    lon: float
    time_zone: str | None
    address: str | None
    distance_km: float | None = Field(default=None, description="From the point asked about (GET /handoff/stores)")


class StoresNearOut(BaseModel):
    stores: list[StoreOut] = Field(description="Nearest first")
    radius_km: float


class QuantityOut(BaseModel):
    store_id: str
    sku: str
    quantity: int


class QuantitiesOut(BaseModel):
    store_id: str
    updated: int = Field(description="Products whose quantity was set")


def _answers(ok: str, model: type[BaseModel], *errors: tuple[int, str]) -> dict[int, Any]:
    answers: dict[int, Any] = {200: {"description": ok, "content": {"application/json": {"model": model}}}}
    for status, description in ((403, "The token's role may not do this"), *errors):
        answers[status] = {"description": description, "content": {"application/json": {"model": ErrorBody}}}
    return answers


_NO_STORE = (404, "No such store")


def _require(role: Role) -> None:
    principal = principal_from_event(router.current_event.raw_event)
    if principal is None:
        raise ApiError(401, "unauthorized", "a token is needed")
    if not principal.at_least(role):
        raise ApiError(403, "forbidden", f"needs the {role.value} role")


def _check_id(value: str, field: str) -> None:
    if not _ID.match(value):
        raise ApiError(400, "invalid_request", f"{field} must be 1-64 letters, digits or . _ : -", f"path.{field}")


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def store_view(store: Store, distance_km: float | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "store_id": store.store_id,
        "name": store.name,
        "lat": store.location.lat,
        "lon": store.location.lon,
        "time_zone": store.time_zone,
        "address": store.address,
    }
    if distance_km is not None:
        view["distance_km"] = round(distance_km, 3)
    return view


@router.put(
    "/handoff/stores/<store_id>",
    summary="Create or replace a store (admins); 201 when new",
    responses={
        **_answers("Replaced", StoreOut, (409, "Changed meanwhile; try again")),
        201: {"description": "Created", "content": {"application/json": {"model": StoreOut}}},
    },
)
def put_store(store_id: str, body: Annotated[StoreIn, Body()]) -> Response[str]:
    _require(Role.ADMIN)
    _check_id(store_id, "store_id")
    store = Store(store_id, body.name, Point(body.lat, body.lon), body.time_zone, body.address)
    created = wiring.get_catalog().put(store, utc_iso(wiring.now()))
    return _json(201 if created else 200, store_view(store))


@router.get(
    "/handoff/stores/<store_id>", summary="A store (agents)", responses=_answers("The store", StoreOut, _NO_STORE)
)
def get_store(store_id: str) -> Response[str]:
    _require(Role.AGENT)
    store = wiring.get_catalog().get(store_id)
    if store is None:
        raise ApiError(404, "not_found", "no such store")
    return _json(200, store_view(store))


@router.get(
    "/handoff/stores",
    summary="Stores within radius_km of a point, nearest first (agents)",
    responses=_answers("The stores near the point", StoresNearOut),
)
def stores_near(
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude of the point")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude of the point")],
    radius_km: Annotated[float | None, Query(ge=0, le=MAX_RADIUS_KM, description="Default: StoreRadiusKm")] = None,
) -> Response[str]:
    _require(Role.AGENT)
    radius = radius_km if radius_km is not None else get_outbound_settings().store_radius_km
    found = wiring.get_catalog().near(Point(lat, lon), radius)
    return _json(200, {"stores": [store_view(store, distance) for store, distance in found], "radius_km": radius})


def _known_store(store_id: str) -> None:
    _check_id(store_id, "store_id")
    if wiring.get_catalog().get(store_id) is None:
        raise ApiError(404, "not_found", "no such store")


@router.put(
    "/handoff/stores/<store_id>/inventory/<sku>",
    summary="Set one product's quantity in a store (admins)",
    responses=_answers("The new quantity", QuantityOut, _NO_STORE),
)
def put_quantity(store_id: str, sku: str, body: Annotated[QuantityIn, Body()]) -> Response[str]:
    _require(Role.ADMIN)
    if not re.match(r"^[^\s#]{1,128}$", sku):
        raise ApiError(400, "invalid_request", "sku must be 1-128 characters without spaces or #", "path.sku")
    _known_store(store_id)
    wiring.get_catalog().set_quantities(store_id, [(sku, body.quantity)], utc_iso(wiring.now()))
    return _json(200, {"store_id": store_id, "sku": sku, "quantity": body.quantity})


@router.post(
    "/handoff/stores/<store_id>/inventory",
    summary="Set the quantities of up to 500 products in a store (admins)",
    responses=_answers("How many products were set", QuantitiesOut, _NO_STORE),
)
def put_quantities(store_id: str, body: Annotated[InventoryIn, Body()]) -> Response[str]:
    _require(Role.ADMIN)
    _known_store(store_id)
    lines = [(line.sku, line.quantity) for line in body.items]
    wiring.get_catalog().set_quantities(store_id, lines, utc_iso(wiring.now()))
    return _json(200, {"store_id": store_id, "updated": len(dict(lines))})
