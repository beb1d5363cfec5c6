"""``message.sent``: what the delivery worker puts on the bus once a provider accepted a message (source
``omnichannel.handoff``). No address in it: consumers (KPIs, audit) need the fact, not the contact."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.handoff_events import OutboundChannel


class OutboundMessageSent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id of this event; consumers are idempotent on it")
    occurred_at: datetime
    message_id: str
    profile_id: str
    channel: OutboundChannel
    template: str
    provider_id: str
    reason: str
    ticket_code: str | None = None
    attempts: int
