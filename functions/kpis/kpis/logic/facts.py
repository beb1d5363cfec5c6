"""What the KPI function counts, read from the bus events it receives (capture's canonical events and carts'
``cart.recovered``). One fact per event; a fact knows its business day, channel and reporting-currency amount."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from kpis.logic.money import Conversion


class FactKind(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    PAGE_VIEW = "page_view"
    SCREEN_VIEW = "screen_view"
    STORE_VISIT = "store_visit"
    LEAD = "lead"
    SIGNUP = "signup"
    SURVEY = "survey"
    RECOVERED = "recovered"


# The count beside each money sum, for amounts in a currency without a rate.
UNCONVERTED_COUNT = {"gross": "orders", "refunded": "refunds", "recovered": "recovered_orders", "spend": "spend_rows"}
SESSION_KINDS = frozenset({FactKind.PAGE_VIEW, FactKind.SCREEN_VIEW, FactKind.STORE_VISIT})
TOUCH_KINDS = SESSION_KINDS | {FactKind.LEAD, FactKind.SIGNUP, FactKind.ORDER}


@dataclass(frozen=True)
class Campaign:
    """The marketing campaign an event came with (Segment's ``context.campaign``: utm_campaign, utm_source,
    utm_medium); "(not set)" where a part is missing, as GA4 writes it."""

    name: str
    source: str
    medium: str

    @property
    def source_medium(self) -> str:
        return f"{self.source} / {self.medium}"


@dataclass(frozen=True)
class Fact:
    event_id: str
    kind: FactKind
    occurred_at: datetime
    day: str  # the business day, YYYY-MM-DD
    channel: str
    identifiers: dict[str, str] = field(default_factory=dict)
    visitor: str | None = None  # sessions: the device (anonymous id) or the strongest identifier
    money: Conversion | None = None
    nps: int | None = None
    csat: int | None = None
    campaign: Campaign | None = None

    @property
    def reporting_amount(self) -> Decimal:
        if self.money is None or self.money.reporting_amount is None:
            return Decimal(0)
        return self.money.reporting_amount

    def counters(self) -> dict[str, Decimal]:
        """What this fact adds to its day-and-channel bucket (sessions are counted apart, once per visitor)."""
        one = Decimal(1)
        kind = self.kind
        out: dict[str, Decimal] = {}
        if kind is FactKind.ORDER:
            out["orders"] = one
            out.update(self._money("gross"))
        elif kind is FactKind.REFUND:
            out["refunds"] = one
            out.update(self._money("refunded"))
        elif kind is FactKind.RECOVERED:
            out["recovered_orders"] = one
            out.update(self._money("recovered"))
        elif kind in SESSION_KINDS:
            out[f"{kind.value}s"] = one
        elif kind is FactKind.LEAD:
            out["leads"] = one
        elif kind is FactKind.SIGNUP:
            out["signups"] = one
        elif kind is FactKind.SURVEY:
            if self.nps is not None:
                out["nps_responses"] = one
                if self.nps >= 9:
                    out["nps_promoters"] = one
                elif self.nps <= 6:
                    out["nps_detractors"] = one
            if self.csat is not None:
                out["csat_responses"] = one
                out["csat_total"] = Decimal(self.csat)
                if self.csat >= 4:
                    out["csat_satisfied"] = one
        return out

    def _money(self, name: str) -> dict[str, Decimal]:
        """The native sum per currency always; the reporting sum when the currency has a rate, else the amount
        and its count under ``<name>_unconverted:<CUR>`` / ``<count>_unconverted:<CUR>`` (never a zero)."""
        assert self.money is not None
        code = self.money.currency
        out = {f"{name}:{code}": self.money.amount}
        if self.money.reporting_amount is None:
            out["fx_missing"] = Decimal(1)
            out[f"{name}_unconverted:{code}"] = self.money.amount
            out[f"{UNCONVERTED_COUNT[name]}_unconverted:{code}"] = Decimal(1)
        else:
            out[name] = self.money.reporting_amount
        return out

    @property
    def converted(self) -> bool:
        return self.money is not None and self.money.reporting_amount is not None

    def conversion_record(self) -> dict[str, Any]:
        return self.money.as_record() if self.money is not None else {}
