"""Maximum-likelihood fits of the BG/NBD and Gamma-Gamma models (numpy and scipy, imported when a fit runs).

Inputs are one number per customer, as in the papers:

- ``frequency`` (x): repeat purchase periods, the first purchase excluded (purchases are counted once per period,
  e.g. per day, so several orders on one day are one transaction);
- ``recency`` (t_x) and ``T``: time from the first purchase to the last one and to the end of the calibration
  period, in one time unit (weeks for the CDNOW sample); the fitted alpha is in that unit;
- ``monetary_value``: the mean value of the customer's repeat transactions (the first purchase excluded).

Both fits maximise the log-likelihood over the logarithms of the parameters (so they stay positive) with
L-BFGS-B and analytic gradients, starting from every parameter at 1. Times are first divided by the mean age and
spends by the mean spend (alpha and gamma are scaled back afterwards; the likelihood is invariant under that
change of units), so the start and the limits below mean the same whatever the time unit or the currency. A fit
raises ``FitError`` when the optimiser does not report convergence or a parameter runs off towards 0 or infinity
(outside 1e-5 .. 1e5 in those units): the data then have no interior maximum (e.g. nobody seems to drop out, or
every customer spends alike) and the model is not identified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kpis.clv.model import BgNbdParams, GammaGammaParams

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

# The optimiser's box on the log-parameters, and the range (in the scaled units) outside which a parameter is taken
# to be running off to 0 or infinity rather than converging.
_LOG_BOUND = 20.0
_LOG_RUNAWAY = math.log(1e5)
# The largest gradient of the mean log-likelihood (per log-parameter) taken as a stationary point when the optimiser
# stops without reporting convergence.
_GRADIENT_TOL = 1e-6


class FitError(ValueError):
    """The data cannot identify the model, or the optimiser did not converge."""


def _as_array(name: str, values: Sequence[float]) -> FloatArray:
    import numpy as np

    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a sequence of numbers") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers only")
    return array


def _check_frequency(frequency: FloatArray) -> None:
    import numpy as np

    if frequency.size == 0:
        raise ValueError("no customers to fit")
    if np.any(frequency < 0) or np.any(frequency != np.floor(frequency)):
        raise ValueError("frequency must hold whole numbers >= 0 (repeat purchase periods)")


def _stationary(objective: Callable[[FloatArray], tuple[float, FloatArray]], point: FloatArray) -> bool:
    """Whether the gradient vanishes at ``point``: L-BFGS-B's line search can end ``ABNORMAL`` at the optimum
    itself, when rounding noise hides any further decrease (seen with some OpenBLAS builds on CDNOW)."""
    import numpy as np

    value, gradient = objective(point)
    return (
        math.isfinite(value) and bool(np.all(np.isfinite(gradient))) and float(np.abs(gradient).max()) <= _GRADIENT_TOL
    )


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray, names: Sequence[str]
) -> FloatArray:
    import numpy as np
    from scipy.optimize import minimize

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    solution = np.asarray(result.x, dtype=np.float64)
    if solution.shape != start.shape or not np.all(np.isfinite(solution)):
        raise FitError("the maximum-likelihood fit returned non-finite parameters")
    at_bound = [name for name, value in zip(names, solution, strict=True) if abs(value) > _LOG_RUNAWAY]
    if at_bound:
        raise FitError(f"no finite maximum-likelihood estimate: {', '.join(at_bound)} ran off to 0 or infinity")
    if not result.success and not _stationary(objective, solution):
        raise FitError(f"the maximum-likelihood fit did not converge: {result.message}")
    return solution


# ---- BG/NBD ----------------------------------------------------------------------------------------------------


def _bgnbd_objective(
    x: FloatArray, t_x: FloatArray, age: FloatArray, counts: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """The mean negative log-likelihood over log(r, alpha, a, b), with its gradient."""
    import numpy as np
    from scipy.special import betaln, digamma, gammaln

    weight = counts / counts.sum()
    repeat = x > 0
    xm1 = np.where(repeat, x - 1.0, 0.0)  # b + x - 1 only matters (and is only positive) when x > 0

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        log_alpha_T = np.log(alpha + age)
        log_alpha_tx = np.log(alpha + t_x)
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        base = betaln(a, b)
        term1 = betaln(a, b + x) - base - (r + x) * log_alpha_T
        term2 = np.where(repeat, betaln(a + 1.0, b + xm1) - base - (r + x) * log_alpha_tx, -np.inf)
        mix = np.logaddexp(term1, term2)
        loglik = float(np.dot(weight, common + mix))
        w1 = np.exp(term1 - mix)  # each term's share of the likelihood (w2 = 0 when x = 0)
        w2 = 1.0 - w1
        d_base_a = digamma(a) - digamma(a + b)
        d_base_b = digamma(b) - digamma(a + b)
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * log_alpha_T - w2 * log_alpha_tx
        d_alpha = r / alpha - w1 * (r + x) / (alpha + age) - w2 * (r + x) / (alpha + t_x)
        d_a = w1 * (digamma(a) - digamma(a + b + x)) + w2 * (digamma(a + 1.0) - digamma(a + b + x)) - d_base_a
        d_b = w1 * (digamma(b + x) - digamma(a + b + x)) + w2 * (digamma(b + xm1) - digamma(a + b + x)) - d_base_b
        grad = np.array([np.dot(weight, d) for d in (d_r, d_alpha, d_a, d_b)]) * np.exp(log_params)
        if not math.isfinite(loglik) or not np.all(np.isfinite(grad)):
            return math.inf, np.zeros_like(log_params)
        return -loglik, -grad

    return objective


def fit_bgnbd(frequency: Sequence[float], recency: Sequence[float], T: Sequence[float]) -> BgNbdParams:
    """Fit r, alpha, a, b of the BG/NBD model (Fader, Hardie & Lee 2005, eq. 6) by maximum likelihood.

    Per customer, L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
                    + [x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x)).
    Customers with the same (x, t_x, T) are counted once, with a weight.
    """
    import numpy as np

    x_all = _as_array("frequency", frequency)
    tx_all = _as_array("recency", recency)
    age_all = _as_array("T", T)
    if not (x_all.size == tx_all.size == age_all.size):
        raise ValueError("frequency, recency and T must have one value per customer")
    _check_frequency(x_all)
    if np.any(age_all <= 0):
        raise ValueError("T must be > 0 for every customer")
    if np.any(tx_all < 0) or np.any(tx_all > age_all):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x_all > 0) & (tx_all == 0)):
        raise ValueError("recency must be > 0 when frequency > 0")
    if not np.any(x_all > 0):
        raise FitError("no customer made a repeat purchase: the BG/NBD cannot be fitted")

    rows, counts = np.unique(np.column_stack([x_all, tx_all, age_all]), axis=0, return_counts=True)
    time_scale = float(age_all.mean())
    objective = _bgnbd_objective(
        rows[:, 0], rows[:, 1] / time_scale, rows[:, 2] / time_scale, counts.astype(np.float64)
    )
    solution = _minimise(objective, np.zeros(4), ("r", "alpha", "a", "b"))
    r, alpha, a, b = (float(v) for v in np.exp(solution))
    return BgNbdParams(r=r, alpha=alpha * time_scale, a=a, b=b)


# ---- Gamma-Gamma -----------------------------------------------------------------------------------------------


def _gamma_gamma_objective(
    x: FloatArray, m: FloatArray, counts: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """The mean negative log-likelihood over log(p, q, gamma), with its gradient."""
    import numpy as np
    from scipy.special import digamma, gammaln

    weight = counts / counts.sum()
    log_m, log_x = np.log(m), np.log(x)

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        p, q, gamma = np.exp(log_params)
        px = p * x
        log_total = np.log(gamma + x * m)
        loglik_i = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1.0) * log_m
            + px * log_x
            - (px + q) * log_total
        )
        loglik = float(np.dot(weight, loglik_i))
        d_p = x * (digamma(px + q) - digamma(px) + log_m + log_x - log_total)
        d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_total
        d_gamma = q / gamma - (px + q) / (gamma + x * m)
        grad = np.array([np.dot(weight, d) for d in (d_p, d_q, d_gamma)]) * np.exp(log_params)
        if not math.isfinite(loglik) or not np.all(np.isfinite(grad)):
            return math.inf, np.zeros_like(log_params)
        return -loglik, -grad

    return objective


def fit_gamma_gamma(frequency: Sequence[float], monetary_value: Sequence[float]) -> GammaGammaParams:
    """Fit p, q, gamma of the Gamma-Gamma spend model by maximum likelihood, on the customers with frequency > 0.

    Per customer, the density of the mean spend m_x over x transactions is
    Gamma(p x + q) / (Gamma(p x) Gamma(q)) * gamma^q m_x^(p x - 1) x^(p x) / (gamma + x m_x)^(p x + q).
    Raises ``FitError`` when the estimate has q <= 1: the population mean spend p gamma / (q - 1) would be
    infinite and no expected value could be scored.
    """
    import numpy as np

    x_all = _as_array("frequency", frequency)
    m_all = _as_array("monetary_value", monetary_value)
    if x_all.size != m_all.size:
        raise ValueError("frequency and monetary_value must have one value per customer")
    _check_frequency(x_all)
    repeat = x_all > 0
    x, m = x_all[repeat], m_all[repeat]
    if x.size == 0:
        raise FitError("no customer made a repeat purchase: the Gamma-Gamma model cannot be fitted")
    if np.any(m <= 0):
        raise ValueError("monetary_value must be > 0 for every customer with frequency > 0")
    if x.size < 2 or np.ptp(m) == 0:
        raise FitError("the Gamma-Gamma model needs at least two repeat customers with different mean spends")

    rows, counts = np.unique(np.column_stack([x, m]), axis=0, return_counts=True)
    spend_scale = float(m.mean())
    objective = _gamma_gamma_objective(rows[:, 0], rows[:, 1] / spend_scale, counts.astype(np.float64))
    solution = _minimise(objective, np.zeros(3), ("p", "q", "gamma"))
    p, q, gamma = (float(v) for v in np.exp(solution))
    gamma *= spend_scale
    if q <= 1.0:
        raise FitError(f"the fitted q={q:.4g} is <= 1: the mean spend has no finite expectation under this fit")
    return GammaGammaParams(p=p, q=q, gamma=gamma)
