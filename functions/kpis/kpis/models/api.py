"""What the KPI API accepts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnichannel.canonical_event import Channel

# The days the KPI API reads and takes spend for (four-digit years; every business-day computation stays in range).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


class SpendRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="The business day the money was spent on")
    channel: Channel
    campaign: str = Field(default="all", min_length=1, max_length=128)
    amount: str = Field(
        description="Decimal string, e.g. '1250.00' (never negative; at most 15 digits before the point, 4 after)",
        pattern=r"^\d{1,15}(\.\d{1,4})?$",
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")

    @field_validator("day")
    @classmethod
    def _in_range(cls, day: date) -> date:
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError(f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
        return day


class SpendBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[SpendRow] = Field(min_length=1, max_length=1000)
