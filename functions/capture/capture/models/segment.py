"""The Segment HTTP Tracking API's message, as the official SDKs send it (camelCase field names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

SegmentType = Literal["identify", "track", "page", "screen", "group", "alias"]
# A string or a whole number, as the SDKs send ids; a JSON boolean or a float is never one (``true`` is not the
# customer "1"). Cleaning and the placeholder rule come after, in omnichannel.identifiers.
Identifier = StrictStr | StrictInt


def _utc(moment: datetime) -> datetime:
    """A timestamp without an offset is read as UTC (what Segment does), so times can always be compared."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]

# Segment's own limits: 32 KB a message, 500 KB a batch. A batch's shared context is merged into each of its
# messages, so it gets the same 32 KB, and a canonical event (message plus context) stays within 64 KB: far
# inside DynamoDB's 400 KB item (which also keeps the raw message) and EventBridge's 256 KB entry.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_CANONICAL_BYTES = 2 * MAX_MESSAGE_BYTES


class SegmentMessage(BaseModel):
    """One call: identify, track, page, screen, group or alias. Unknown fields are kept (Segment keeps them)."""

    model_config = ConfigDict(extra="allow", str_max_length=MAX_MESSAGE_BYTES)

    type: SegmentType
    messageId: str | None = Field(default=None, min_length=1, max_length=200)
    userId: Identifier | None = None
    anonymousId: Identifier | None = None
    timestamp: Timestamp | None = None
    originalTimestamp: Timestamp | None = None
    sentAt: Timestamp | None = None
    channel: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    event: str | None = Field(default=None, max_length=1024)
    name: str | None = Field(default=None, max_length=1024)
    category: str | None = None
    groupId: Identifier | None = None
    previousId: Identifier | None = None


class BatchEnvelope(BaseModel):
    """``POST /v1/batch``: messages plus batch-wide ``sentAt``, ``context`` and ``integrations``."""

    model_config = ConfigDict(extra="allow")

    batch: list[Any] = Field(description="Segment messages (each validated on its own: bad ones do not sink the rest)")
    sentAt: Timestamp | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)
    writeKey: str | None = None


class AcceptedResponse(BaseModel):
    success: bool = True
    accepted: int = Field(description="Messages stored and published now")
    duplicates: int = Field(description="Messages already captured before (same messageId): answered, not stored again")
    rejected: list[RejectedMessage] = Field(default_factory=list)


class FieldProblem(BaseModel):
    field: str
    message: str


class RejectedMessage(BaseModel):
    index: int
    messageId: str | None = None
    errors: list[FieldProblem]


class ErrorBody(BaseModel):
    """Every refusal: the SDKs read ``code`` and ``message``; ``errors`` names each field."""

    success: bool = False
    code: str = Field(examples=["invalid_message", "unauthorized", "payload_too_large"])
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


AcceptedResponse.model_rebuild()
