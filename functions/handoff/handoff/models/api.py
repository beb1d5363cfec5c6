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


# ---------------------------------------------------------------------------------------------- answers
# The routes build their JSON by hand (the context mixes several tables' shapes); these models document it.


class TicketOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    code: str = Field(description="XXXX-XXXX (Crockford base32); type it with or without the dash, any case")
    profile_id: str
    from_channel: str
    to_channel: str
    reason: str
    note: str | None = None
    created_by: str | None = None
    created_at: str
    expires_at: str
    state: str = Field(description="open, redeemed, expired or voided")
    redeemed_by: str | None = None
    redeemed_at: str | None = None
    redeemed_channel: str | None = None
    redeemed_store_id: str | None = None
    deep_link: str | None = Field(default=None, description="<HANDOFF_LINK_BASE_URL>/h/<code> for digital channels")
    purpose: str = Field(description="handoff or reserve_in_store")
    store_id: str | None = None
    cart_snapshot: dict[str, Any] | None = Field(default=None, description="Not in the context's ticket summaries")


class LastMessageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    name: str
    at: str
    text: str | None = None


class ConversationOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    channel: str
    contact: str = Field(description="<identifier type>:<value> the customer reached us with")
    state: str = Field(description="open, pending or closed")
    profile_id: str | None = None
    opened_at: str | None = None
    message_count: int
    last_message: LastMessageOut | None = None
    assigned_agent: str | None = None
    assigned_store: str | None = None
    consent: str | None = Field(default=None, description="opted_in or opted_out (SMS, WhatsApp)")
    linked_conversation_id: str | None = Field(default=None, description="The open case this one continues")
    handed_off_from: str | None = Field(default=None, description="That case's channel (implicit handoff)")


class MatchedOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(description="phone or whatsapp: how the caller was found")
    conversation: ConversationOut | None = Field(description="The open conversation the caller most likely continues")


class TaskOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    profile_id: str
    kind: str = Field(description="call, follow_up ... as the journey asked")
    reason: str
    priority: str = Field(description="urgent, high, normal or low")
    note: str
    due_at: str
    created_at: str
    state: str = Field(description="open or done")
    journey_id: str | None = Field(description="The journey that asked for it")
    step_id: str | None
    context: dict[str, Any] = Field(description="What the journey knew: the touchpoint, a survey answer, the stage")
    done_at: str | None = None
    done_by: str | None = None
    outcome: str | None = None


class CompleteTaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(
        default="done", min_length=1, max_length=200, description="What came of it: reached, no_answer, resolved ..."
    )


class ContextOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: dict[str, Any] = Field(description="profile_id, identifiers, traits, channels, created_at, last_seen_at")
    timeline: dict[str, Any] = Field(description="events (canonical events, newest first, a bounded page) and cursor")
    cart: dict[str, Any] | None = Field(description="cart_id, version, currency, lines, total, last_activity_at")
    conversations: list[ConversationOut] = Field(description="Open ones first, newest first")
    open_conversations: int
    consent: dict[str, str] = Field(
        description="Per channel with a consent signal: opted_in or opted_out (the newest signal wins; opt-in only)"
    )
    preferred_channel: str | None = Field(description="The profile's preferred_channel trait, if any")
    reachable_channels: list[str] = Field(
        description="Outbound channels (whatsapp, sms, email) with consent and an address, in the order tried"
    )
    last_handoff: TicketOut | None
    tickets: list[TicketOut] = Field(description="Open handoff tickets")
    tasks: list[TaskOut] = Field(description="Open agent tasks (a journey's call or follow-up), the most urgent first")
    matched: MatchedOut | None = Field(default=None, description="Only on /handoff/context (by number)")


class RedeemOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketOut
    context: ContextOut | None = Field(description="The customer's context (null if the profile was erased)")
