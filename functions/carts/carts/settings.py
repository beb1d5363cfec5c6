"""The carts function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field

from omnichannel.config import CommonSettings, settings_from_env


class CartsSettings(CommonSettings):
    carts_table_name: str = "carts"
    cart_merge_mode: Literal["merge", "replace"] = "merge"
    max_line_quantity: int = Field(default=10, ge=1)  # a line's quantity is capped here (adds and merges)
    max_lines: int = Field(default=100, ge=1)
    default_currency: str = Field(default="TRY", min_length=3, max_length=3)
    abandon_after_minutes: int = Field(default=60, ge=1)  # idle time with items and no order
    abandon_retry_minutes: int = Field(default=15, ge=1)  # an abandonment not yet announced is retried after this
    recovery_window_days: int = Field(default=7, ge=1)  # an order this long after an abandonment recovers it
    due_shards: int = Field(default=4, ge=1, le=64)  # partitions of the abandonment index
    sweep_budget: int = Field(default=500, ge=1)  # carts one sweep handles at most
    anonymous_cart_ttl_days: int = Field(default=30, ge=1)
    saved_cart_ttl_days: int = Field(default=90, ge=1)
    dedupe_window_hours: int = Field(default=72, ge=1)  # applied bus event ids are remembered this long


@cache
def get_settings() -> CartsSettings:
    return settings_from_env(CartsSettings)
