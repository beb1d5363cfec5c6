"""The profiles function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

from functools import cache

from omnichannel.config import CommonSettings, settings_from_env


class ProfilesSettings(CommonSettings):
    profiles_table_name: str = "profiles"
    events_table_name: str = "events"
    # Merge rules: JSON overrides of the per-type limits ({"email": 3}) and extra blocklisted values
    # ({"email": ["shop@brand.com"]}); see profiles/logic/identity_rules.py for the defaults.
    identity_limits: str = ""
    identity_blocklist: str = ""
    # Values this many profiles tried and failed to link (a kiosk, a test e-mail) are blocked and reported.
    identity_autoblock_after: int = 10
    timeline_page_max: int = 200
    # Timeline rows live as long as capture keeps the events they point to.
    raw_event_retention_days: int = 395


@cache
def get_settings() -> ProfilesSettings:
    return settings_from_env(ProfilesSettings)
