"""The canonical event: the one shape every touchpoint takes on the bus, whatever channel it came from.

Names follow the Segment spec where one exists (``identify``, ``track`` with ``Product Added`` ...), so analytics
SDK traffic drives carts and KPIs with no glue. Producers build it; consumers parse the bus ``detail`` into it.
Parsing ignores fields it does not know, so a consumer keeps working when a later version of capture adds one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnichannel.identifiers import IdentifierType, Provenance

CAPTURE_SOURCE = "omnichannel.capture"
# EventBridge refuses a PutEvents entry whose DetailType is longer than this; a Segment event name may be 1024.
MAX_DETAIL_TYPE_LENGTH = 128
EVENT_ID_NAMESPACE = uuid.UUID("6f1c9a52-3f7e-4a8e-9a4b-2d1e5c7b9f10")


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    STORE = "store"
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    PHONE = "phone"
    CHAT = "chat"


class EventType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


def event_id_for(source: str, message_id: str) -> str:
    """The stable event id of a message: the same ``messageId`` from the same source is the same event."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}\x1f{message_id}"))


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``: sortable as text, which the tables' range keys rely on."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CanonicalEvent(BaseModel):
    """One touchpoint, validated, normalised and de-duplicated."""

    # Readers ignore unknown fields: consumers must not break when a later version adds one. Producers build it
    # from known fields only.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id: uuid5 of source and messageId; consumers are idempotent on it")
    message_id: str = Field(description="The producer's own message id (Segment messageId, provider message id)")
    source: str = Field(description="Which write key's source or which webhook provider sent it")
    type: EventType
    name: str | None = Field(default=None, description="track: the event name; page/screen: the page name")
    channel: Channel
    identifiers: dict[IdentifierType, str] = Field(
        default_factory=dict, description="Normalised identifiers by type (email case-folded, phone E.164)"
    )
    provenance: Provenance = Field(
        default=Provenance.ASSERTED,
        description=(
            "verified: the source vouches for the identifiers (signed webhook, store POS, server-side write key); "
            "asserted: a client-side write key (browser, app) says so. Asserted links never give a customer access."
        ),
    )
    previous_id: str | None = Field(default=None, description="alias: the identifier being linked")
    group_id: str | None = None
    occurred_at: datetime = Field(description="When it happened, corrected for client clock skew")
    received_at: datetime
    sent_at: datetime | None = None
    original_timestamp: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at", "received_at", "sent_at", "original_timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def detail_type(self) -> str:
        """The bus ``detail-type``: the Segment event name for track, the call type otherwise.

        Never longer than ``MAX_DETAIL_TYPE_LENGTH`` (128) characters, EventBridge's limit: a longer event name
        is cut to its first 128 characters (counted as UTF-16 code units, as AWS counts them; a character outside
        the Basic Multilingual Plane is never split). The full name stays in the detail's ``name``.
        """
        if self.type is EventType.TRACK and self.name:
            return _truncated(self.name, MAX_DETAIL_TYPE_LENGTH)
        return self.type.value

    def to_bus_detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _truncated(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 code units, on a character boundary."""
    if len(text) <= limit // 2 or len(text.encode("utf-16-le")) <= 2 * limit:
        return text
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text
