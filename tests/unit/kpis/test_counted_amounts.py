"""The amount an order or refund counts with is read from the field capture checked at its gate
(``omnichannel.counted_figures``): what capture accepts, the KPIs count the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kpis.logic.inputs import UncountableEvent, fact_from_event
from kpis.logic.money import FxRates
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.counted_figures import problems
from omnichannel.identifiers import IdentifierType

ZONE = ZoneInfo("Europe/Istanbul")
FX = FxRates("TRY", {"EUR": Decimal("36.45")})


def tracked(name: str, properties: dict[str, Any]) -> CanonicalEvent:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    return CanonicalEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        source="web",
        type=EventType.TRACK,
        name=name,
        channel=Channel.WEB,
        identifiers={IdentifierType.USER_ID: "c-1"},
        occurred_at=at,
        received_at=at,
        properties=properties,
    )


@pytest.mark.parametrize(
    ("name", "properties", "counted"),
    [("Order Completed", {"revenue": "19.90", "total": "25", "currency": "TRY"}, Decimal("19.90")),
     ("Order Completed", {"revenue": None, "total": 5, "currency": "TRY"}, Decimal("5.00")),
     ("Order Completed", {"total": "7.5", "currency": "eur"}, Decimal("7.50")),
     ("Order Refunded", {"total": "-12", "revenue": "99", "currency": "TRY"}, Decimal("12.00")),
     ("Order Refunded", {"total": None, "revenue": "3", "currency": "TRY"}, Decimal("3.00"))],
)  # fmt: skip
def test_what_capture_accepts_the_kpis_count_from_the_same_field(
    name: str, properties: dict[str, Any], counted: Decimal
) -> None:
    assert problems(name, properties) == []
    fact = fact_from_event(tracked(name, properties), ZONE, FX)
    assert fact is not None
    assert fact.money is not None
    assert fact.money.amount == counted


def test_an_order_capture_let_through_without_an_amount_is_uncountable_not_zero() -> None:
    assert problems("Order Completed", {"currency": "TRY"}) == []
    with pytest.raises(UncountableEvent, match="revenue"):
        fact_from_event(tracked("Order Completed", {"currency": "TRY"}), ZONE, FX)
