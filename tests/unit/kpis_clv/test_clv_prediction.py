"""Pure-Python scoring: 2F1 against scipy, the papers' conditional expectation, P(alive), spend and discounted CLV."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.clv.model import BgNbdParams, GammaGammaParams
from kpis.clv.prediction import (
    expected_average_value,
    expected_purchases,
    hyp2f1,
    predicted_clv,
    probability_alive,
)

ROOT = Path(__file__).resolve().parents[3]
# Published CDNOW estimates (BG/NBD paper; Gamma-Gamma in the iso-value paper).
PAPER_BG = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PAPER_GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


# ---- 2F1 ---------------------------------------------------------------------------------------------------------

GRID = list(
    itertools.product(
        [-2.5, -0.3, 0.243, 1.5, 4.0, 12.0],
        [-1.7, 0.5, 2.426, 7.0],
        [-3.5, 0.3, 1.2, 3.0, 25.0],
        [-0.9, -0.3, 0.1, 0.45, 0.55, 0.7, 0.9, 0.97, 0.995],
    )
)


def test_hyp2f1_agrees_with_scipy_on_a_grid():
    # Given 1,080 argument sets over both sides of z = 1/2 (the series and the 1 - z connection formula)
    worst = max(
        abs(hyp2f1(a, b, c, z) - sc.hyp2f1(a, b, c, z)) / max(abs(sc.hyp2f1(a, b, c, z)), 1e-300) for a, b, c, z in GRID
    )
    # Then every value matches scipy's to 1e-9 relative
    assert worst < 1e-9


@pytest.mark.parametrize(
    ("a", "b", "c", "z"),
    [
        (0.5, 0.5, 1.0, 0.9),  # c - a - b = 0 exactly: the connection formula's poles, direct series instead
        (0.3, 0.7, 2.0 + 1e-7, 0.95),  # c - a - b within 1e-5 of an integer
        (50.0, 52.0, 52.2, 0.6),  # large parameters: the connection formula's terms cancel
        (-3.0, 2.5, 1.5, 0.99),  # a polynomial
        (2.0, 2.5, 3.0, -5.0),  # Pfaff's transformation for z < -1
        (1.0, 1.0, 2.0, 0.999),  # z very near 1
    ],
)
def test_hyp2f1_edge_cases_agree_with_scipy(a, b, c, z):
    assert hyp2f1(a, b, c, z) == pytest.approx(sc.hyp2f1(a, b, c, z), rel=1e-9)


@given(z=st.floats(min_value=-50.0, max_value=0.999), a=st.floats(min_value=-3.0, max_value=5.0))
def test_hyp2f1_closed_forms(z, a):
    # 2F1(1, 1; 2; z) = -ln(1 - z) / z and 2F1(a, b; b; z) = (1 - z)^-a, whatever the branch taken
    if z != 0:
        assert hyp2f1(1.0, 1.0, 2.0, z) == pytest.approx(-math.log1p(-z) / z, rel=1e-11)
    assert hyp2f1(a, 2.7, 2.7, z) == pytest.approx((1 - z) ** -a, rel=1e-10)


@pytest.mark.parametrize(
    ("a", "b", "c", "z", "message"),
    [(1.0, 1.0, 2.0, 1.0, "z < 1"), (1.0, 1.0, -2.0, 0.5, "undefined"), (1.0, math.nan, 2.0, 0.5, "finite")],
)
def test_hyp2f1_refuses_arguments_outside_its_domain(a, b, c, z, message):
    with pytest.raises(ValueError, match=message):
        hyp2f1(a, b, c, z)


# ---- BG/NBD ------------------------------------------------------------------------------------------------------


def _eq10_with_scipy(params: BgNbdParams, t: float, x: float, t_x: float, age: float) -> float:
    """Equation 10 of the BG/NBD paper as printed, with scipy's 2F1 (no Euler transformation)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    hyper = sc.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyper)
    odds = a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return float(numerator / (1 + odds))


def test_expected_purchases_for_the_papers_customer():
    # Given the paper's estimates and its example customer: 2 repeat purchases, the last at 30.43 of 38.86 weeks
    # Then the expected repeat purchases in the next 39 weeks are 1.226, as published
    assert expected_purchases(PAPER_BG, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize(
    ("x", "t_x", "age"),
    [(0, 0.0, 38.86), (0, 0.0, 0.5), (1, 1.71, 38.86), (2, 30.43, 38.86), (7, 35.0, 36.0), (25, 28.0, 32.5)],
)
@pytest.mark.parametrize("t", [0.5, 13.0, 39.0, 52.0, 260.0])
def test_expected_purchases_is_equation_10(x, t_x, age, t):
    # The Euler-transformed 2F1 the scorer uses gives the paper's equation as printed
    mine = expected_purchases(PAPER_BG, t, x, t_x, age)
    assert mine == pytest.approx(_eq10_with_scipy(PAPER_BG, t, x, t_x, age), rel=1e-9)


def test_a_customer_seen_at_birth_expects_the_unconditional_mean():
    # For T = 0 the conditional expectation is the unconditional E[X(t)] (eq. 9 of the paper)
    r, alpha, a, b = PAPER_BG.r, PAPER_BG.alpha, PAPER_BG.a, PAPER_BG.b
    for t in (1.0, 39.0, 78.0):
        unconditional = (
            (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * sc.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )
        assert expected_purchases(PAPER_BG, t, 0, 0.0, 0.0) == pytest.approx(unconditional, rel=1e-10)


def test_expected_purchases_for_a_very_frequent_buyer_stays_finite():
    # 2F1(r + x, b + x; ...) itself is beyond floating point here; the transformed form is not
    value = expected_purchases(PAPER_BG, 52.0, 400, 38.5, 38.86)
    assert math.isfinite(value)
    assert 400 / 38.86 * 52 * 0.5 < value < 400 / 38.86 * 52 * 1.5


def test_probability_alive_known_cases():
    assert probability_alive(PAPER_BG, 0, 0.0, 38.86) == 1.0
    # Same history, a longer silence since the last purchase: less likely alive
    recent = probability_alive(PAPER_BG, 2, 30.43, 38.86)
    silent = probability_alive(PAPER_BG, 2, 30.43, 78.0)
    assert 0.0 < silent < recent < 1.0
    # It is 1 / (1 + odds) with the paper's odds a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)
    odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    assert recent == pytest.approx(1 / (1 + odds), rel=1e-12)
    # An active buyer whose silence is very long is all but certainly gone, without overflow
    assert probability_alive(PAPER_BG, 300, 1.0, 1000.0) == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize(
    ("x", "t_x", "age", "message"),
    [
        (-1, 0.0, 3.0, "whole number"),
        (1.5, 1.0, 3.0, "whole number"),
        (1, 4.0, 3.0, "t_x <= T"),
        (1, 0.0, 3.0, "t_x must be > 0"),
        (1, math.inf, math.inf, "finite"),
    ],
)
def test_scoring_refuses_impossible_customers(x, t_x, age, message):
    with pytest.raises(ValueError, match=message):
        probability_alive(PAPER_BG, x, t_x, age)
    with pytest.raises(ValueError, match=message):
        expected_purchases(PAPER_BG, 10.0, x, t_x, age)


customers = st.integers(min_value=0, max_value=60).flatmap(
    lambda x: st.tuples(
        st.just(x),
        st.floats(min_value=0.1, max_value=200.0),
        st.floats(min_value=0.0, max_value=1.0),
    ).map(lambda c: (c[0], c[1] * c[2] if c[0] > 0 else 0.0, c[1]))
)
bg_params = st.builds(
    BgNbdParams,
    r=st.floats(min_value=0.05, max_value=5.0),
    alpha=st.floats(min_value=0.5, max_value=50.0),
    a=st.floats(min_value=0.1, max_value=5.0).filter(lambda a: abs(a - 1) > 1e-3),
    b=st.floats(min_value=0.1, max_value=10.0),
)


@settings(max_examples=150, deadline=None)
@given(params=bg_params, customer=customers, t1=st.floats(0.0, 300.0), t2=st.floats(0.0, 300.0))
def test_expected_purchases_grows_with_the_horizon(params, customer, t1, t2):
    x, t_x, age = customer
    if x > 0 and t_x == 0:
        t_x = age
    short, long = sorted((t1, t2))
    early = expected_purchases(params, short, x, t_x, age)
    late = expected_purchases(params, long, x, t_x, age)
    assert 0.0 <= early <= late * (1 + 1e-9) + 1e-12


@settings(max_examples=150, deadline=None)
@given(params=bg_params, customer=customers)
def test_probability_alive_is_a_probability(params, customer):
    x, t_x, age = customer
    if x > 0 and t_x == 0:
        t_x = age
    assert 0.0 <= probability_alive(params, x, t_x, age) <= 1.0


# ---- Gamma-Gamma and CLV -----------------------------------------------------------------------------------------


def test_expected_average_value_is_the_papers_weighted_mean():
    p, q, gamma = 6.25, 3.74, 15.44
    value = expected_average_value(PAPER_GG, 2, Decimal("22.35"))
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -2
    assert value == Decimal(p * (gamma + 2 * 22.35) / (p * 2 + q - 1)).quantize(Decimal("0.01"))
    # A customer without repeat purchases gets the population mean p gamma / (q - 1), whatever mean_spend says
    assert expected_average_value(PAPER_GG, 0, 0) == Decimal(p * gamma / (q - 1)).quantize(Decimal("0.01"))
    # Currencies without minor units
    assert expected_average_value(PAPER_GG, 2, 2235, quantum=Decimal(1)).as_tuple().exponent == 0


@settings(max_examples=150, deadline=None)
@given(x=st.integers(min_value=1, max_value=200), spend=st.floats(min_value=0.01, max_value=1e5))
def test_expected_average_value_lies_between_the_population_and_the_customer(x, spend):
    population = PAPER_GG.p * PAPER_GG.gamma / (PAPER_GG.q - 1)
    value = float(expected_average_value(PAPER_GG, x, spend))
    assert min(population, spend) - 0.005 <= value <= max(population, spend) + 0.005


def test_expected_average_value_refuses_what_it_cannot_score():
    with pytest.raises(ValueError, match="q <= 1"):
        expected_average_value(GammaGammaParams(p=2.0, q=0.9, gamma=10.0), 1, 10)
    with pytest.raises(ValueError, match="mean_spend"):
        expected_average_value(PAPER_GG, 1, 0)
    with pytest.raises(ValueError, match="whole number"):
        expected_average_value(PAPER_GG, -1, 10)


def test_undiscounted_clv_is_expected_purchases_times_expected_value():
    # Given no discounting and a year of 52 weeks, Then the CLV is E[Y(52)] times E[M]
    clv = predicted_clv(PAPER_BG, PAPER_GG, 2, 30.43, 38.86, Decimal("22.35"), 364, 0.0)
    value = PAPER_GG.p * (PAPER_GG.gamma + 2 * 22.35) / (PAPER_GG.p * 2 + PAPER_GG.q - 1)
    expected = expected_purchases(PAPER_BG, 52, 2, 30.43, 38.86) * value
    assert clv == Decimal(expected).quantize(Decimal("0.01"))
    assert clv.as_tuple().exponent == -2


def test_discounting_lies_between_no_discount_and_all_at_the_horizon():
    undiscounted = predicted_clv(PAPER_BG, PAPER_GG, 2, 30.43, 38.86, 22.35, 730, 0.0)
    discounted = predicted_clv(PAPER_BG, PAPER_GG, 2, 30.43, 38.86, 22.35, 730, 0.12)
    assert undiscounted * Decimal(1.12**-2) < discounted < undiscounted
    # Daily periods pay each purchase sooner than weekly ones (at the end of its day, not of its week):
    # worth a little more, by less than a week's discount
    daily = predicted_clv(
        BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426),
        PAPER_GG,
        2,
        30.43 * 7,
        38.86 * 7,
        22.35,
        730,
        0.12,
        time_unit_days=1,
    )
    assert discounted < daily < discounted * Decimal(1.12 ** (7 / 365))


@settings(max_examples=60, deadline=None)
@given(
    customer=customers,
    days=st.floats(min_value=0.0, max_value=1100.0),
    more=st.floats(min_value=0.0, max_value=400.0),
    rate=st.floats(min_value=0.0, max_value=0.5),
    higher=st.floats(min_value=0.0, max_value=0.5),
)
def test_clv_grows_with_the_horizon_and_shrinks_with_the_rate(customer, days, more, rate, higher):
    x, t_x, age = customer
    if x > 0 and t_x == 0:
        t_x = age
    base = predicted_clv(PAPER_BG, PAPER_GG, x, t_x, age, 30.0, days, rate)
    assert base >= 0
    assert predicted_clv(PAPER_BG, PAPER_GG, x, t_x, age, 30.0, days + more, rate) >= base
    assert predicted_clv(PAPER_BG, PAPER_GG, x, t_x, age, 30.0, days, rate + higher) <= base


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_days": -1.0}, "horizon_days"),
        ({"annual_discount_rate": -1.0}, "annual_discount_rate"),
        ({"time_unit_days": 0}, "time_unit_days"),
        ({"horizon_days": math.nan}, "horizon_days"),
    ],
)
def test_predicted_clv_refuses_bad_settings(kwargs, message):
    arguments = {"horizon_days": 365.0, "annual_discount_rate": 0.1, "time_unit_days": 7.0} | kwargs
    with pytest.raises(ValueError, match=message):
        predicted_clv(PAPER_BG, PAPER_GG, 2, 30.43, 38.86, 22.35, **arguments)


def test_scoring_imports_neither_numpy_nor_scipy():
    code = "import sys, kpis.clv.prediction; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "functions" / "kpis")},
    )
    assert out.stdout.strip() == "[]"


def test_numpy_numbers_score_like_python_floats() -> None:
    # Given a customer summary as numpy gives it (a fit's arrays, a notebook), and the same as Python floats
    from typing import Any

    import numpy as np

    from kpis.clv.model import BgNbdParams, GammaGammaParams

    bg, gg = BgNbdParams(0.243, 4.414, 0.793, 2.426), GammaGammaParams(6.25, 3.74, 15.44)
    x, t_x, age, spend = np.float64(2), np.float64(30.43), np.float64(38.86), np.float64(35.5)
    horizon: Any = np.int64(365)
    # When both are scored, Then the answers are the same Decimal (numpy's repr is not a number)
    assert predicted_clv(bg, gg, x, t_x, age, spend, horizon, np.float64(0.1)) == predicted_clv(
        bg, gg, 2.0, 30.43, 38.86, 35.5, 365, 0.1
    )
