"""What the KPI API accepts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.canonical_event import Channel


class SpendRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="The business day the money was spent on")
    channel: Channel
    campaign: str = Field(default="all", min_length=1, max_length=128)
    amount: str = Field(description="Decimal string, e.g. '1250.00' (never negative)", pattern=r"^\d{1,15}(\.\d+)?$")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")


class SpendBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[SpendRow] = Field(min_length=1, max_length=1000)
