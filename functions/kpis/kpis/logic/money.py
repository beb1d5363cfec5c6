"""Money: ``Decimal`` amounts with their ISO 4217 currency, rounded to the currency's minor unit, and the
conversion into the reporting currency at a configured rate (the rate is recorded beside each conversion)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

# ISO 4217 minor units that are not 2 (everything else: 2).
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KMF": 0,
    "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0,
    "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
_CODE = re.compile(r"^[A-Z]{3}$")
ZERO = Decimal(0)
# Larger amounts are refused: DynamoDB numbers hold 38 digits, and a sum of such amounts must stay exact.
MAX_AMOUNT = Decimal(10) ** 15


class MoneyError(ValueError):
    """An amount or currency that cannot be counted."""


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def currency_code(value: Any) -> str:
    code = str(value or "").strip().upper()
    if not _CODE.match(code):
        raise MoneyError(f"currency {value!r} is not an ISO 4217 code")
    return code


def amount(value: Any, currency: str) -> Decimal:
    """A JSON amount (string, int or the float an SDK sent) as a Decimal in the currency's minor unit.

    A float goes through its shortest repr (``19.9`` -> ``Decimal('19.9')``), never through binary expansion.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"amount {value!r} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation as error:
        raise MoneyError(f"amount {value!r} is not a number") from error
    if not number.is_finite():
        raise MoneyError(f"amount {value!r} is not finite")
    if abs(number) > MAX_AMOUNT:  # beyond it, quantize raises InvalidOperation and sums stop fitting DynamoDB
        raise MoneyError(f"amount {value!r} is larger than {MAX_AMOUNT:,}")
    return number.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Conversion:
    """One amount converted: what it was, at which rate, what it became (recorded with the event)."""

    amount: Decimal
    currency: str
    rate: Decimal | None
    reporting_amount: Decimal | None
    reporting_currency: str

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"amount": self.amount, "currency": self.currency, "to": self.reporting_currency}
        if self.rate is not None and self.reporting_amount is not None:
            record["rate"] = self.rate
            record["reporting_amount"] = self.reporting_amount
        return record


@dataclass(frozen=True)
class FxRates:
    """Units of the reporting currency per unit of each currency (``{"EUR": "35.20"}`` for reporting TRY)."""

    reporting_currency: str
    rates: dict[str, Decimal]

    def convert(self, value: Decimal, currency: str) -> Conversion:
        if currency == self.reporting_currency:
            return Conversion(value, currency, Decimal(1), value, currency)
        rate = self.rates.get(currency)
        if rate is None:
            return Conversion(value, currency, None, None, self.reporting_currency)
        converted = (value * rate).quantize(quantum(self.reporting_currency), rounding=ROUND_HALF_EVEN)
        return Conversion(value, currency, rate, converted, self.reporting_currency)
