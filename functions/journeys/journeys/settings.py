"""The journeys function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from omnichannel.config import CommonSettings, settings_from_env
from omnichannel.contact_rules import FrequencyCap, QuietHours


class JourneySettings(CommonSettings):
    journeys_table_name: str = "journeys"
    profiles_table_name: str = "profiles"
    quiet_hours: str = "21:00-09:00"  # the customer's local time; "off" for none
    journey_frequency_cap: str = "3/7d"  # journey messages per customer per window, across journeys
    business_time_zone: str = "Europe/Istanbul"
    public_base_url: str = ""  # the API's public origin (custom domain); survey links start with it
    api_base_url: str = ""  # the API's own origin, when there is no custom domain
    journeys_secret_id: str = ""  # Secrets Manager: {"survey_link_key": "..."}
    sweep_limit: int = Field(default=2000, ge=1, le=100_000)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("journey_frequency_cap")
    @classmethod
    def _cap(cls, value: str) -> str:
        FrequencyCap.parse(value)
        return value

    @field_validator("business_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def survey_link_base_url(self) -> str:
        return (self.public_base_url or self.api_base_url).rstrip("/")


@cache
def get_settings() -> JourneySettings:
    return settings_from_env(JourneySettings)
