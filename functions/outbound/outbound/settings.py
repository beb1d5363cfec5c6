"""The outbound function's configuration (online to store and delivery), read once from its environment
(template.yaml, section "outbound")."""

from __future__ import annotations

from functools import cache

from pydantic import Field, field_validator

from omnichannel.config import CommonSettings, settings_from_env
from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.handoff_events import OutboundChannel
from outbound.store_offers.store_offer import parse_channels


class OutboundSettings(CommonSettings):
    outbound_table_name: str = "outbound"  # its own table: outbox, offers, caps, stores, stock, holds
    handoff_table_name: str = "handoff"  # read-only: the conversations' consent replies (STOP / START)
    profiles_table_name: str = "profiles"
    carts_table_name: str = "carts"
    store_radius_km: float = Field(default=5.0, gt=0, le=100)
    quiet_hours: str = "21:00-09:00"  # local time of the customer; "off" for none
    offer_cap: str = "1/7d"  # offers per profile per window
    offer_channels: str = "whatsapp,sms,email"  # OfferChannels: the channels offers may use, preferred first
    business_time_zone: str = "Europe/Istanbul"  # when the customer's time_zone trait is missing
    offer_ticket_ttl_hours: int = Field(default=48, ge=1, le=160)
    whatsapp_api_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_message_mode: str = Field(default="template", pattern="^(template|text)$")
    whatsapp_template_language: str = "tr"
    outbound_secret_id: str = ""  # Secrets Manager: {"whatsapp_access_token", "whatsapp_phone_number_id"}
    ses_from_address: str = ""
    ses_configuration_set: str = ""
    sms_sender_id: str = ""
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_batch: int = Field(default=100, ge=1, le=1000)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("offer_cap")
    @classmethod
    def _offer_cap(cls, value: str) -> str:
        FrequencyCap.parse(value)
        return value

    @field_validator("offer_channels")
    @classmethod
    def _offer_channels(cls, value: str) -> str:
        parse_channels(value)
        return value

    @property
    def offer_channel_order(self) -> tuple[OutboundChannel, ...]:
        return parse_channels(self.offer_channels)


@cache
def get_outbound_settings() -> OutboundSettings:
    return settings_from_env(OutboundSettings)
