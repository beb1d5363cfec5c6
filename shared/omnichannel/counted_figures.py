"""The figures the KPIs count from a tracked event (an order's amount and currency, a refund's, a survey's score),
by one rule where they enter and where they are counted.

Capture refuses a tracking-API message whose figures are there but can never be counted (400 naming the field,
the batch's other messages kept): the sender learns at once. The rollup parses the same figures with these
functions (``kpis.logic.money``, ``kpis.logic.inputs``); what it still cannot count (an order without a currency)
it leaves out, and quarantines only when a verified source sent it, so a public write key cannot fill the KPI
dead-letter queue.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
SURVEY_ANSWERED = "Survey Answered"
# Larger amounts are refused: DynamoDB numbers hold 38 digits, and a sum of such amounts must stay exact.
MAX_AMOUNT = Decimal(10) ** 15
SCORES = {"nps": (0, 10), "csat": (1, 5)}
_CODE = re.compile(r"^[A-Z]{3}$")
# Where an order's amount is read: Segment's ``revenue``, else ``total`` (a refund: ``total`` first).
_AMOUNT_FIELDS = {ORDER_COMPLETED: ("revenue", "total"), ORDER_REFUNDED: ("total", "revenue")}


def _shown(value: Any) -> str:
    """A refused value as a message quotes it: its repr, at most 40 characters (the sender's text goes back to them
    and into a quarantine reason, never whole)."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4,300-digit limit for text
        return "(a number too long to print)"
    return text if len(text) <= 40 else text[:39] + "…"


class MoneyError(ValueError):
    """An amount or currency that cannot be counted."""


def currency_code(value: Any) -> str:
    code = str(value or "").strip().upper() if isinstance(value, str) else ""
    if not _CODE.match(code):
        raise MoneyError(f"currency {_shown(value)} is not an ISO 4217 code")
    return code


def parse_amount(value: Any) -> Decimal:
    """A JSON amount (string, int or the float an SDK sent; a Decimal) as a Decimal, unrounded. A float goes through its
    shortest repr (``19.9`` -> ``Decimal('19.9')``), never through binary expansion."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise MoneyError(f"amount {_shown(value)} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:  # ValueError: an int past Python's 4,300-digit str limit
        raise MoneyError(f"amount {_shown(value)} is not a number") from error
    if not number.is_finite():
        raise MoneyError(f"amount {_shown(value)} is not finite")
    if abs(number) > MAX_AMOUNT:  # beyond it, quantize raises InvalidOperation and sums stop fitting DynamoDB
        raise MoneyError(f"amount {_shown(value)} is larger than {MAX_AMOUNT:,}")
    return number


def whole_score(value: Any, low: int, high: int) -> int | None:
    """A survey score: None when absent; ValueError unless a whole number from ``low`` to ``high``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError) as error:  # OverflowError: an int too large for a float
        raise ValueError("not a number") from error
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return int(number)


def amount_field(name: str | None, properties: dict[str, Any]) -> str:
    """The property an order's (or a refund's) amount is read from."""
    first, second = _AMOUNT_FIELDS.get(name or "", ("revenue", "total"))
    return first if properties.get(first) is not None or properties.get(second) is None else second


def problems(name: str | None, properties: dict[str, Any]) -> list[tuple[str, str]]:
    """``(property, why)`` for each figure of a tracked event that is there but could never be counted (an amount
    that is not a number, a negative order, a currency that is no ISO code, a score out of its scale). A figure
    that is absent is not a problem here: the event still matters to the timeline, carts and journeys (an order
    without an amount closes a cart all the same), and the KPIs leave it out, counted as uncountable."""
    found: list[tuple[str, str]] = []
    if name in _AMOUNT_FIELDS:
        field = amount_field(name, properties)
        if properties.get(field) is not None:
            try:
                if parse_amount(properties.get(field)) < 0 and name == ORDER_COMPLETED:
                    found.append((field, "must not be negative (a refund is an Order Refunded)"))
            except MoneyError as error:
                found.append((field, str(error)))
        if properties.get("currency") is not None:
            try:
                currency_code(properties.get("currency"))
            except MoneyError as error:
                found.append(("currency", str(error)))
    elif name == SURVEY_ANSWERED:
        for kind, (low, high) in SCORES.items():
            try:
                whole_score(properties.get(kind), low, high)
            except ValueError as error:
                found.append((kind, str(error)))
    return found
