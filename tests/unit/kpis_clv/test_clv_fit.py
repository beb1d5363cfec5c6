"""Maximum-likelihood fits: the published CDNOW estimates, the likelihood's gradient, and refusals of bad data."""

from __future__ import annotations

import csv
import math
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.optimize import minimize as scipy_minimize

from kpis.clv import fit
from kpis.clv.fit import FitError, fit_bgnbd, fit_gamma_gamma

ROOT = Path(__file__).resolve().parents[3]
CDNOW = ROOT / "tests" / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow() -> dict[str, list[float]]:
    """Bruce Hardie's CDNOW sample, 39-week calibration period, time in weeks (see tests/data/cdnow/README.md)."""
    with CDNOW.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "x": [float(row["x"]) for row in rows],
        "t_x": [float(row["t_x"]) for row in rows],
        "T": [float(row["T"]) for row in rows],
        "zbar": [float(row["zbar"]) for row in rows],
    }


def _two_significant(value: float) -> float:
    return float(f"{value:.2g}")


def test_cdnow_sample_is_the_papers_cohort(cdnow):
    # Given the vendored summary, Then it is the papers' data: 2,357 customers, 946 with repeat purchases,
    # whose mean spend per repeat transaction averages $35.08 (Fader, Hardie & Lee 2005, iso-value curves).
    repeat = [z for x, z in zip(cdnow["x"], cdnow["zbar"], strict=True) if x > 0]
    assert len(cdnow["x"]) == 2357
    assert len(repeat) == 946
    assert sum(repeat) / len(repeat) == pytest.approx(35.08, abs=0.005)


def test_bgnbd_fit_reproduces_the_published_cdnow_estimates(cdnow):
    # When the BG/NBD is fitted to the CDNOW sample
    params = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    # Then the estimates are the paper's r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, to two decimals
    assert params.r == pytest.approx(0.243, abs=0.005)
    assert params.alpha == pytest.approx(4.414, abs=0.005)
    assert params.a == pytest.approx(0.793, abs=0.005)
    assert params.b == pytest.approx(2.426, abs=0.005)


def test_gamma_gamma_fit_reproduces_the_published_cdnow_estimates(cdnow):
    # When the Gamma-Gamma model is fitted on the 946 repeat customers' mean spend per repeat transaction
    params = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    # Then the estimates are the paper's p = 6.25, q = 3.74, gamma = 15.44 to two significant figures
    assert _two_significant(params.p) == _two_significant(6.25)
    assert _two_significant(params.q) == _two_significant(3.74)
    assert _two_significant(params.gamma) == _two_significant(15.44)
    # and closer than that
    assert params.p == pytest.approx(6.25, abs=0.01)
    assert params.q == pytest.approx(3.74, abs=0.01)
    assert params.gamma == pytest.approx(15.44, abs=0.02)


def test_gamma_gamma_ignores_customers_without_repeat_purchases(cdnow):
    # Given the one-off buyers' spend set to nonsense (their zbar is 0 in the file)
    junk = [z if x > 0 else -1.0 for x, z in zip(cdnow["x"], cdnow["zbar"], strict=True)]
    # Then the fit is the same as on the repeat customers alone
    repeat = [(x, z) for x, z in zip(cdnow["x"], cdnow["zbar"], strict=True) if x > 0]
    alone = fit_gamma_gamma([x for x, _ in repeat], [z for _, z in repeat])
    assert fit_gamma_gamma(cdnow["x"], junk) == alone


def test_fits_follow_a_change_of_units(cdnow):
    # Given the same customers in days instead of weeks and in cents-of-a-cent instead of dollars
    weeks = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    days = fit_bgnbd(cdnow["x"], [v * 7 for v in cdnow["t_x"]], [v * 7 for v in cdnow["T"]])
    dollars = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    mills = fit_gamma_gamma(cdnow["x"], [z * 1000 for z in cdnow["zbar"]])
    # Then only the scale parameters move, by the factor of the change
    assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(weeks, name), rel=1e-4)
    assert mills.gamma == pytest.approx(1000 * dollars.gamma, rel=1e-4)
    assert (mills.p, mills.q) == pytest.approx((dollars.p, dollars.q), rel=1e-4)


def _check_gradient(objective: Callable[[Any], tuple[float, Any]], point: Any) -> None:
    value, gradient = objective(point)
    numeric = approx_fprime(point, lambda p: objective(p)[0], 1e-7)
    assert math.isfinite(value)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("point", [(0.0, 0.0, 0.0, 0.0), (-1.4, -2.2, -0.2, 0.9), (1.0, 0.5, 1.5, -0.5)])
def test_bgnbd_gradient_matches_finite_differences(cdnow, point):
    x, t_x, age = (np.asarray(cdnow[k]) for k in ("x", "t_x", "T"))
    objective = fit._bgnbd_objective(x, t_x / age.mean(), age / age.mean(), np.ones_like(x))
    _check_gradient(objective, np.asarray(point))


@pytest.mark.parametrize("point", [(0.0, 0.0, 0.0), (1.8, 1.3, -0.8), (-0.5, 2.0, 1.0)])
def test_gamma_gamma_gradient_matches_finite_differences(cdnow, point):
    x, m = np.asarray(cdnow["x"]), np.asarray(cdnow["zbar"])
    keep = x > 0
    objective = fit._gamma_gamma_objective(x[keep], m[keep] / m[keep].mean(), np.ones(int(keep.sum())))
    _check_gradient(objective, np.asarray(point))


def test_importing_the_fit_module_loads_neither_numpy_nor_scipy():
    # Given a fresh interpreter, When kpis.clv.fit is imported, Then numpy and scipy stay unloaded until a fit runs
    code = "import sys, kpis.clv.fit; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "functions" / "kpis")},
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "message"),
    [
        ([], [], [], "no customers"),
        ([1, 0], [2.0], [3.0, 3.0], "one value per customer"),
        ([-1, 0], [1.0, 0.0], [3.0, 3.0], "whole numbers"),
        ([1.5, 0], [1.0, 0.0], [3.0, 3.0], "whole numbers"),
        ([1, 0], [4.0, 0.0], [3.0, 3.0], "between 0 and T"),
        ([1, 0], [-1.0, 0.0], [3.0, 3.0], "between 0 and T"),
        ([1, 0], [0.0, 0.0], [3.0, 3.0], "recency must be > 0"),
        ([1, 0], [1.0, 0.0], [3.0, 0.0], "T must be > 0"),
        ([1, math.nan], [1.0, 0.0], [3.0, 3.0], "finite"),
        (["one", 0], [1.0, 0.0], [3.0, 3.0], "sequence of numbers"),
        ([0, 0, 0], [0.0, 0.0, 0.0], [3.0, 5.0, 8.0], "no customer made a repeat purchase"),
    ],
)
def test_bgnbd_refuses_bad_data(frequency, recency, age, message):
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, age)


@pytest.mark.parametrize(
    ("frequency", "spend", "message"),
    [
        ([], [], "no customers"),
        ([1, 2], [10.0], "one value per customer"),
        ([0, 0], [0.0, 0.0], "no customer made a repeat purchase"),
        ([1, 2], [10.0, 0.0], "must be > 0"),
        ([1], [10.0], "at least two repeat customers"),
        ([1, 3, 0], [10.0, 10.0, 5.0], "at least two repeat customers"),
        ([1, 2], [10.0, math.inf], "finite"),
    ],
)
def test_gamma_gamma_refuses_bad_data(frequency, spend, message):
    with pytest.raises(ValueError, match=message):
        fit_gamma_gamma(frequency, spend)


def test_bgnbd_without_dropouts_has_no_finite_estimate():
    # Given customers who all keep buying to the end of the period (nobody seems to drop out)
    frequency = [10] * 50 + [0]
    # Then the fit says the parameters run off instead of returning a degenerate estimate
    with pytest.raises(FitError, match="ran off"):
        fit_bgnbd(frequency, [38.0] * 50 + [0.0], [39.0] * 51)


def test_gamma_gamma_with_alike_customers_has_no_finite_estimate():
    # Given one-transaction customers whose spends all come from one and the same distribution
    rng = random.Random(1)
    spend = [rng.gammavariate(4, 5.0) for _ in range(300)]
    # Then the spread across customers is nil: q and gamma run off to infinity
    with pytest.raises(FitError, match="ran off"):
        fit_gamma_gamma([1] * 300, spend)


def test_a_fit_that_does_not_converge_raises(monkeypatch, cdnow):
    # Given an optimiser that gives up
    def gives_up(objective, start, **kwargs):
        return SimpleNamespace(success=False, message="ABNORMAL_TERMINATION_IN_LNSRCH", x=np.zeros_like(start))

    monkeypatch.setattr("scipy.optimize.minimize", gives_up)
    # Then the fit raises rather than returning its last guess
    with pytest.raises(FitError, match="did not converge: ABNORMAL"):
        fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    with pytest.raises(FitError, match="did not converge"):
        fit_gamma_gamma(cdnow["x"], cdnow["zbar"])


def test_a_line_search_ending_abnormally_at_the_optimum_is_accepted(monkeypatch, cdnow):
    # Given an optimiser whose line search ends ABNORMAL at the optimum itself (rounding noise hides any further
    # decrease; seen with some OpenBLAS builds), i.e. where the gradient vanishes
    def stops_abnormally(objective, start, **kwargs):
        found = scipy_minimize(objective, start, **{**kwargs, "options": {**kwargs["options"], "ftol": 1e-10}})
        return SimpleNamespace(success=False, message="ABNORMAL: ", x=found.x)

    monkeypatch.setattr("scipy.optimize.minimize", stops_abnormally)
    # Then the stationary point is taken: the published estimates
    params = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert (params.p, params.q, params.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)


def test_gamma_gamma_with_infinite_mean_spend_is_refused(monkeypatch, cdnow):
    # Given an optimiser landing on q < 1 (a spend distribution too heavy-tailed to have a mean)
    def heavy_tail(objective, start, **kwargs):
        return SimpleNamespace(success=True, message="", x=np.log([2.0, 0.8, 3.0]))

    monkeypatch.setattr("scipy.optimize.minimize", heavy_tail)
    with pytest.raises(FitError, match=r"q=0\.8 is <= 1"):
        fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
