"""The cart API's request and response bodies (the OpenAPI document is generated from them)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from carts.logic.cart import Cart, in_minor_units


class AddLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=200)
    variant: str | None = Field(default=None, max_length=200)
    sku: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    quantity: int = Field(default=1, ge=1, le=1000, description="Added to the line; capped by the per-line maximum")
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=4, description="Price of one unit")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")


class ChangeQuantityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=1000, description="The line's new quantity (capped); 0 removes the line")


class LineOut(BaseModel):
    line_id: str
    product_id: str
    variant: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    currency: str


class CartOut(BaseModel):
    cart_id: str
    version: int = Field(description="Changes with the content; send it back as If-Match to write")
    currency: str
    lines: list[LineOut]
    item_count: int
    total: Decimal = Field(description="Sum of the lines, computed on the server")
    profile_id: str | None = Field(default=None, description="The owner's profile (not shown on anonymous routes)")


class SavedCartOut(BaseModel):
    cart_id: str
    version: int
    currency: str | None
    lines: list[LineOut]
    total: Decimal


class SavedCartsOut(BaseModel):
    saved: list[SavedCartOut]


def cart_out(cart: Cart, default_currency: str, *, show_profile: bool) -> CartOut:
    currency = cart.currency or default_currency
    return CartOut(
        cart_id=cart.cart_id,
        version=cart.version,
        currency=currency,
        lines=[
            LineOut(
                line_id=line.line_id,
                product_id=line.product_id,
                variant=line.variant,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=in_minor_units(line.unit_price, currency),
                line_total=in_minor_units(line.total, currency),
                currency=currency,
            )
            for line in cart.lines
        ],
        item_count=cart.item_count,
        total=in_minor_units(cart.value, currency),
        profile_id=cart.profile_id if show_profile else None,
    )
