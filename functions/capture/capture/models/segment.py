"""The Segment HTTP Tracking API's message, as the official SDKs send it (camelCase field names)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from omnichannel.http_api import FieldProblem, JsonLimits

SegmentType = Literal["identify", "track", "page", "screen", "group", "alias"]
# A string or a whole number, as the SDKs send ids; a JSON boolean or a float is never one (``true`` is not the
# customer "1"). Cleaning and the placeholder rule come after, in omnichannel.identifiers.
Identifier = StrictStr | StrictInt


# A device's clock may be off (the clock-skew correction undoes it), but not by centuries: a timestamp outside
# these bounds is refused before any arithmetic, so every date that enters the bus has a four-digit year.
DEVICE_CLOCK_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DEVICE_CLOCK_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# When an event may have happened (after the correction): not before 2000 (historical imports through /v1/import:
# not before 1970), not more than a day after it was received.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
EARLIEST_IMPORTED_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    """A timestamp without an offset is read as UTC (what Segment does), so times can always be compared."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not DEVICE_CLOCK_EARLIEST <= moment < DEVICE_CLOCK_LATEST:
        raise ValueError("must be between 1970-01-01 and 2100-01-01 (ISO 8601, four-digit year)")
    return moment


Timestamp = Annotated[datetime, AfterValidator(_utc)]

# Segment's own limits: 32 KB a message, 500 KB a batch. A batch's shared context is merged into each of its
# messages, so it gets the same 32 KB, and a canonical event (message plus context) stays within 64 KB: far
# inside DynamoDB's 400 KB item (which also keeps the raw message) and EventBridge's 256 KB entry.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_CANONICAL_BYTES = 2 * MAX_MESSAGE_BYTES
# Segment documents at most 2,500 messages a batch. An answer lists at most 50 refused messages with at most 5
# fields each (``more_rejected`` counts the rest), so it stays small (well under 100 KB) whatever was sent.
MAX_BATCH_MESSAGES = 2500
MAX_LISTED_REJECTIONS = 50
MAX_ERRORS_PER_MESSAGE = 5
# Numbers every consumer can add up and store: integers JavaScript SDKs can represent exactly, other numbers finite
# and of a sane magnitude; no NaN or Infinity. Nested at most 20 levels (DynamoDB stores 32, items take some).
CAPTURE_JSON = JsonLimits(max_depth=20, max_integer=2**53 - 1, max_magnitude=1e15, min_magnitude=1e-15)


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
    rejected: list[RejectedMessage] = Field(
        default_factory=list, description=f"The refused messages (at most {MAX_LISTED_REJECTIONS} listed)"
    )
    more_rejected: int = Field(default=0, description="Refused messages beyond those listed")


class WebhookAccepted(BaseModel):
    success: bool = True
    accepted: int = Field(description="Events stored and published now")
    duplicates: int = Field(description="Events captured before (the provider's retry): answered, not stored again")
    ignored: int = Field(description="Parts of the notification deliberately left out (unknown kinds)")


class RejectedMessage(BaseModel):
    index: int
    messageId: str | None = None
    errors: list[FieldProblem] = Field(description=f"At most {MAX_ERRORS_PER_MESSAGE} fields")


AcceptedResponse.model_rebuild()
