"""Odd values in the figures the KPIs count (capture's gate and the rollup read them alike): each is refused with a
short message naming what it is, never a crash, whatever the type or size."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omnichannel.counted_figures import MoneyError, currency_code, parse_amount, problems, whole_score


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "Infinity", "-inf", "1e400", "1" * 400, float("inf"), True, None, b"12", [12], {"v": 1},
     "", " ", "12,50", "\ud800"],
)  # fmt: skip
def test_an_amount_that_is_no_countable_number_is_a_money_error(value: Any) -> None:
    with pytest.raises(MoneyError) as refused:
        parse_amount(value)
    assert len(str(refused.value)) < 120  # the value is quoted clipped, not whole


@pytest.mark.parametrize(
    ("value", "expected"),
    [("19.90", Decimal("19.90")), (19.9, Decimal("19.9")), (" 7 ", Decimal(7)), (0, Decimal(0)),
     ("-12", Decimal(-12)), (Decimal("1E15"), Decimal("1E15")), ("1e-3", Decimal("0.001")),
     ("１２", Decimal(12))],  # Unicode digits: Decimal reads them, at the gate and in the rollup alike
)  # fmt: skip
def test_a_countable_amount_is_an_exact_decimal(value: Any, expected: Decimal) -> None:
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", [949, "lira", "TR", "TRYY", "", None, "\ud800", "ÇŞĞ", {"code": "TRY"}])
def test_a_currency_that_is_no_iso_code_is_a_money_error(value: Any) -> None:
    with pytest.raises(MoneyError):
        currency_code(value)


@pytest.mark.parametrize(
    "value", ["nan", "inf", "1e400", 7.5, -1, 11, True, [9], "nine", "\ud800"]
)  # fmt: skip
def test_an_nps_that_is_no_whole_number_from_0_to_10_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="number"):
        whole_score(value, 0, 10)


def test_ints_too_long_for_text_or_floats_are_refused_not_crashes() -> None:
    # (built here: pytest cannot name a parameter with more digits than Python prints)
    with pytest.raises(MoneyError):
        parse_amount(10**5000)
    with pytest.raises(ValueError, match="not a number"):
        whole_score(10**400, 0, 10)


def test_a_survey_score_may_be_absent_a_string_or_a_whole_float() -> None:
    assert [whole_score(v, 0, 10) for v in (None, "9", 9.0, 0)] == [None, 9, 9, 0]


def test_a_huge_value_is_quoted_short_in_the_refusal() -> None:
    [(field, why)] = problems("Order Completed", {"revenue": "x" * 30_000, "currency": "TRY"})
    assert field == "revenue"
    assert len(why) < 120
    assert "…" in why
