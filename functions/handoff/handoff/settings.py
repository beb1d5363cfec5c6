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


@cache
def get_settings() -> HandoffSettings:
    return settings_from_env(HandoffSettings)
