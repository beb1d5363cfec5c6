"""What the carts function puts on the bus (source ``omnichannel.carts``): ``cart.updated``, ``cart.merged``,
``cart.abandoned`` and ``cart.recovered``.

Handoff turns ``cart.abandoned`` into "the item is in stock at the store near you"; KPIs count recovered revenue
from ``cart.recovered``. Money is a decimal string with its ISO 4217 currency, never a float. Parsing ignores
fields a later version adds; every detail has a stable ``event_id``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.canonical_event import Channel

CARTS_SOURCE = "omnichannel.carts"


class CartEventType(StrEnum):
    UPDATED = "cart.updated"
    MERGED = "cart.merged"
    ABANDONED = "cart.abandoned"
    RECOVERED = "cart.recovered"


class _CartEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id of this change; consumers are idempotent on it")
    occurred_at: datetime
    cart_id: str
    profile_id: str | None = Field(default=None, description="The owner's profile, once known")
    anonymous_id: str | None = Field(default=None, description="The device's anonymous id of an anonymous cart")


class CartLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: str
    variant: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: int
    unit_price: Decimal
    currency: str = Field(min_length=3, max_length=3)


class CartUpdated(_CartEvent):
    version: int
    lines: list[CartLine] = Field(default_factory=list)
    value: Decimal
    currency: str
    channel: Channel | None = None


class CartMerged(_CartEvent):
    """The cart ``from_cart_id`` was merged into ``cart_id`` (mode ``merge``) or kept as a saved cart (``replace``)."""

    from_cart_id: str
    mode: str
    version: int
    kept_as_saved: bool = Field(
        default=False, description="The other cart was kept as a saved cart (replace mode, or another currency)"
    )


class CartAbandoned(_CartEvent):
    """Items idle past the configured time with no order: once per episode."""

    episode: int = Field(description="Counts this cart's abandonments; with cart_id, the episode's key")
    lines: list[CartLine]
    value: Decimal
    currency: str
    last_channel: Channel | None = None
    last_activity_at: datetime


class CartRecovered(_CartEvent):
    """An order completed after the cart was abandoned: recovered revenue."""

    episode: int
    order_id: str | None = None
    order_event_id: str = Field(description="The captured Order Completed event")
    revenue: Decimal
    currency: str
    channel: Channel | None = None
    abandoned_at: datetime
