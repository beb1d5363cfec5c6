"""The handoff API's request bodies (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from handoff.logic.tickets import MAX_TTL
from omnichannel.canonical_event import Channel

_ALIASES = {"web_chat": Channel.CHAT.value, "call": Channel.PHONE.value}


def _channel(value: Any) -> Any:
    """Channels as ARCHITECTURE names them; ``web_chat`` is read as ``chat``."""
    return _ALIASES.get(value, value) if isinstance(value, str) else value


class CreateTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_id: str = Field(min_length=1, max_length=100)
    from_channel: Channel = Field(description="Where the customer is now")
    to_channel: Channel = Field(description="Where they are handed to (store, phone: a code; others: a deep link)")
    reason: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=1000, description="For the receiving agent or clerk")
    ttl_minutes: int = Field(default=60, ge=1, le=int(MAX_TTL.total_seconds() // 60))

    @field_validator("from_channel", "to_channel", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _channel(value)


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field(description="Where it is redeemed: store, phone, chat (web_chat) ...")
    store_id: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("channel", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _channel(value)
