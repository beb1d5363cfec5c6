"""The handoff function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from omnichannel.config import CommonSettings, settings_from_env


class HandoffSettings(CommonSettings):
    handoff_table_name: str = "handoff"
    profiles_table_name: str = "profiles"
    events_table_name: str = "events"
    carts_table_name: str = "carts"
    dedupe_window_hours: int = Field(default=72, ge=1)  # applied bus event ids are remembered this long
    timeline_limit: int = Field(default=20, ge=1, le=100)  # events in the context's timeline page
    # Deep links are <base>/h/<code>; empty: PUBLIC_BASE_URL, else the API's own origin (the Host header).
    handoff_link_base_url: str = ""
    public_base_url: str = ""
    context_tickets_limit: int = Field(default=20, ge=1, le=100)  # newest tickets the context reads
    redeem_failure_limit: int = Field(default=10, ge=1)  # failed redemptions / lookups per caller per window
    redeem_failure_window_seconds: int = Field(default=300, ge=1)


@cache
def get_settings() -> HandoffSettings:
    return settings_from_env(HandoffSettings)
