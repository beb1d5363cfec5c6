"""What the KPI function puts on the bus (source ``omnichannel.kpis``): ``lifecycle.changed``.

A customer's lifecycle stage (acquisition, experimentation, loyalty, retention, recovery) is derived from
recency, frequency and monetary value; a change is announced once per change (``event_id`` is stable: the
customer and the change's sequence number), at least once. Money is a decimal string in the reporting currency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

KPIS_SOURCE = "omnichannel.kpis"
KPI_EVENT_NAMESPACE = uuid.UUID("5d2b8c1e-7a4f-4e0b-9c61-3e8f2a7d9b05")


class KpiEventType(StrEnum):
    LIFECYCLE_CHANGED = "lifecycle.changed"


def lifecycle_event_id(customer_id: str, sequence: int) -> str:
    """The same stage change of the same customer always has the same id."""
    return str(uuid.uuid5(KPI_EVENT_NAMESPACE, f"{customer_id}\x1f{sequence}"))


class LifecycleChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="Stable id of this change; consumers are idempotent on it")
    occurred_at: datetime = Field(description="When the KPI function saw the change")
    customer_id: str = Field(
        description="The KPI function's customer key: p-<profile_id>, or i-<hash> before a profile"
    )
    profile_id: str | None = Field(default=None, description="The profile, once the profiles function announced one")
    previous_stage: str | None = None
    stage: str
    sequence: int = Field(description="Counts this customer's stage changes")
    recency_days: int | None = Field(default=None, description="Business days since the last order")
    frequency: int = Field(description="Orders")
    monetary: Decimal = Field(description="Net revenue (orders less refunds)")
    currency: str = Field(description="The reporting currency of monetary")
