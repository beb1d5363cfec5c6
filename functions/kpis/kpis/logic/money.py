"""Money: ``Decimal`` amounts with their ISO 4217 currency, rounded to the currency's minor unit, and the
conversion into the reporting currency at a configured rate (the rate is recorded beside each conversion)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from omnichannel.counted_figures import MAX_AMOUNT, MoneyError, currency_code, parse_amount

__all__ = [
    "MAX_AMOUNT",
    "ZERO",
    "Conversion",
    "FxRates",
    "MoneyError",
    "amount",
    "currency_code",
    "minor_unit",
    "quantum",
]

# ISO 4217 minor units that are not 2 (everything else: 2).
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KMF": 0,
    "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0,
    "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
ZERO = Decimal(0)


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def amount(value: Any, currency: str) -> Decimal:
    """A JSON amount (``omnichannel.counted_figures.parse_amount``: capture checked it by the same rule) in the
    currency's minor unit."""
    return parse_amount(value).quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


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
