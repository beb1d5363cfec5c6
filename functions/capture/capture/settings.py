"""The capture function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

from functools import cache

from omnichannel.config import CommonSettings, settings_from_env


class CaptureSettings(CommonSettings):
    events_table_name: str = "events"
    profiles_table_name: str = "profiles"  # read-only, by the erasure: who else holds an identifier
    capture_secret_id: str = ""
    raw_event_retention_days: int = 395
    public_base_url: str = ""
    secrets_max_age_seconds: int = 300
    outbox_shards: int = 16
    outbox_grace_seconds: int = 60
    outbox_relay_budget: int = 200  # outbox entries one relay run takes at most


@cache
def get_settings() -> CaptureSettings:
    return settings_from_env(CaptureSettings)
