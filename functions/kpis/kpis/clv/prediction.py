"""Per-customer CLV predictions from fitted BG/NBD and Gamma-Gamma parameters, in pure Python.

Only the `math` and `decimal` modules are used, so a stream consumer scoring one customer at a time never loads
numpy or scipy. A customer is summarised as in the papers:

- ``x``: repeat purchase periods (the first purchase is not counted);
- ``t_x``: recency, the time from the first to the last purchase;
- ``T``: age, the time from the first purchase to now;
- ``mean_spend``: the mean value of the customer's repeat transactions (ignored when ``x == 0``).

``t_x``, ``T`` and ``t`` are in the time unit the BG/NBD model was fitted in (weeks for the CDNOW sample).
Money comes back as ``Decimal`` quantised to cents (``quantum`` changes that, e.g. ``Decimal(1)`` for JPY);
the currency is the caller's, the same as the spend the models were fitted on.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

from kpis.clv.model import BgNbdParams, GammaGammaParams

CENT = Decimal("0.01")
DAYS_PER_YEAR = 365.0

_EPS = 1e-15
_MAX_TERMS = 2_000_000
# Below this, the 1 - z connection formula loses digits to cancellation (its error is about eps / distance).
_NEAR_INTEGER = 1e-5
# ... and when its two terms cancel more than this, the direct series is the more accurate.
_ILL_CONDITIONED = 1e4


# ---- the Gauss hypergeometric function 2F1 -------------------------------------------------------------------


def _series(a: float, b: float, c: float, z: float) -> tuple[float, float]:
    """The defining power series sum_n (a)_n (b)_n / ((c)_n n!) z^n: (its sum, the sum of its absolute terms).

    Once n is past every parameter's magnitude the term ratio tends monotonically to z, so with q the larger of
    the current ratio and z the tail is at most |term| * q / (1 - q): the sum stops when that bound is below eps
    relative to the sum of the absolute terms (the accuracy floating point can give the sum anyway).
    """
    total = 1.0
    scale = 1.0
    term = 1.0
    settled_after = max(abs(a), abs(b), abs(c)) + 2.0
    n = 0
    while n < _MAX_TERMS:
        ratio = (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        term *= ratio
        n += 1
        if term == 0.0:
            return total, scale
        total += term
        scale += abs(term)
        if n > settled_after:
            q = max(abs(ratio), abs(z))
            if q < 1.0 and abs(term) * q / (1.0 - q) <= _EPS * scale:
                return total, scale
    raise ArithmeticError(f"2F1({a}, {b}; {c}; {z}) did not converge in {_MAX_TERMS} terms")


def _is_nonpositive_integer(value: float) -> bool:
    return value <= 0 and value == math.floor(value)


def _signed_lgamma(value: float) -> tuple[float, float]:
    """(log |Gamma(value)|, sign of Gamma(value)); the sign is 0 at the poles, where 1 / Gamma is 0."""
    if _is_nonpositive_integer(value):
        return 0.0, 0.0
    sign = 1.0 if value > 0 or math.ceil(-value) % 2 == 0 else -1.0
    return math.lgamma(value), sign


def _gamma_ratio(top: tuple[float, float], bottom: tuple[float, float]) -> float:
    """Gamma(top[0]) Gamma(top[1]) / (Gamma(bottom[0]) Gamma(bottom[1])), in logs so large arguments do not overflow."""
    log_value = 0.0
    sign = 1.0
    for value in top:
        lg, s = _signed_lgamma(value)
        if s == 0.0:
            raise ValueError(f"Gamma has a pole at {value}")
        log_value += lg
        sign *= s
    for value in bottom:
        lg, s = _signed_lgamma(value)
        if s == 0.0:
            return 0.0
        log_value -= lg
        sign *= s
    return sign * math.exp(log_value)


def hyp2f1(a: float, b: float, c: float, z: float) -> float:
    """The Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1.

    - z <= 1/2: the power series directly;
    - z < 0: Pfaff's transformation 2F1(a, b; c; z) = (1 - z)^-a 2F1(a, c - b; c; z / (z - 1)) moves the argument
      into (0, 1);
    - 1/2 < z < 1: the connection formula to 1 - z (Abramowitz & Stegun 15.3.6), whose series converge fast.
      Its two terms can nearly cancel: when c - a - b is within 1e-5 of an integer (the gamma factors blow up) or
      when the terms' magnitudes exceed the result's 1e4-fold (large |c - a - b|), the direct series is summed
      instead; it converges for every |z| < 1, only more slowly as z nears 1.
    """
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c) and math.isfinite(z)):
        raise ValueError("2F1 needs finite arguments")
    if z >= 1.0:
        raise ValueError(f"2F1 is implemented for z < 1, got z={z}")
    if _is_nonpositive_integer(c) and not any(
        _is_nonpositive_integer(p) and p > c for p in (a, b)
    ):  # (c)_n reaches zero before the series terminates
        raise ValueError(f"2F1 is undefined for c={c}")
    if z == 0.0 or a == 0.0 or b == 0.0:
        return 1.0
    if z < 0.0:
        return math.pow(1.0 - z, -a) * hyp2f1(a, c - b, c, z / (z - 1.0))
    d = c - a - b
    if z <= 0.5 or _is_nonpositive_integer(a) or _is_nonpositive_integer(b) or abs(d - round(d)) < _NEAR_INTEGER:
        return _series(a, b, c, z)[0]
    w = 1.0 - z
    sum1, scale1 = _series(a, b, 1.0 - d, w)
    sum2, scale2 = _series(c - a, c - b, d + 1.0, w)
    factor1 = _gamma_ratio((c, d), (c - a, c - b))
    factor2 = _gamma_ratio((c, -d), (a, b)) * math.pow(w, d)
    value = factor1 * sum1 + factor2 * sum2
    if abs(factor1) * scale1 + abs(factor2) * scale2 > _ILL_CONDITIONED * abs(value):
        return _series(a, b, c, z)[0]
    return value


# ---- BG/NBD ----------------------------------------------------------------------------------------------------


def _check_customer(x: float, t_x: float, T: float) -> None:
    for name, value in (("x", x), ("t_x", t_x), ("T", T)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if x < 0 or x != math.floor(x):
        raise ValueError(f"x (repeat purchase periods) must be a whole number >= 0, got {x}")
    if not 0 <= t_x <= T:
        raise ValueError(f"need 0 <= t_x <= T, got t_x={t_x}, T={T}")
    if x > 0 and t_x == 0:
        raise ValueError("t_x must be > 0 when x > 0: a repeat purchase comes after the first one")


def _log_dropout_odds(params: BgNbdParams, x: float, t_x: float, T: float) -> float:
    """log of a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x): the odds that an x > 0 customer has left."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return math.log(a) - math.log(b + x - 1.0) + (r + x) * (math.log(alpha + T) - math.log(alpha + t_x))


def probability_alive(params: BgNbdParams, x: float, t_x: float, T: float) -> float:
    """P(the customer is still active | x, t_x, T): 1 for a customer without repeat purchases (the BG/NBD only
    lets customers drop out right after a purchase), else 1 / (1 + dropout odds) (Fader, Hardie & Lee 2005)."""
    _check_customer(x, t_x, T)
    if x == 0:
        return 1.0
    log_odds = _log_dropout_odds(params, x, t_x, T)
    if log_odds > 0:
        e = math.exp(-log_odds)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(log_odds))


def expected_purchases(params: BgNbdParams, t: float, x: float, t_x: float, T: float) -> float:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in the next t time units (eq. 10 of the BG/NBD paper).

        (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)]
        / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)),   z = t / (alpha + T + t)

    Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z), with
    (alpha + T) / (alpha + T + t) = 1 - z, turns the bracket's product into
    (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z): parameters that do not grow with x, so a frequent
    buyer's 2F1 neither overflows nor needs many terms. The formula is singular at a = 1 (a fitted float never
    lands there exactly).
    """
    _check_customer(x, t_x, T)
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        raise ValueError(f"t must be a finite number >= 0, got {t!r}")
    if t == 0:
        return 0.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if a == 1.0:
        raise ValueError("expected_purchases is singular at a = 1")
    z = t / (alpha + T + t)
    bracket = 1.0 - math.pow(1.0 - z, a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    numerator = (a + b + x - 1.0) / (a - 1.0) * bracket
    if x == 0:
        return numerator
    log_odds = _log_dropout_odds(params, x, t_x, T)
    if log_odds > 700:  # the customer has all but certainly left; exp would overflow
        return 0.0
    return numerator / (1.0 + math.exp(log_odds))


# ---- Gamma-Gamma and the lifetime value -----------------------------------------------------------------------


def _spend_float(gg: GammaGammaParams, x: float, mean_spend: Decimal | float) -> float:
    if gg.q <= 1.0:
        raise ValueError(f"the Gamma-Gamma mean spend is infinite for q <= 1 (q={gg.q})")
    if isinstance(x, bool) or not isinstance(x, int | float) or x < 0 or x != math.floor(x):
        raise ValueError(f"x (repeat purchase periods) must be a whole number >= 0, got {x!r}")
    spend = float(mean_spend)
    if x > 0 and not (math.isfinite(spend) and spend > 0):
        raise ValueError(f"mean_spend must be a finite amount > 0 when x > 0, got {mean_spend!r}")
    p, q, gamma = gg.p, gg.q, gg.gamma
    if x == 0:
        return p * gamma / (q - 1.0)
    return p * (gamma + x * spend) / (p * x + q - 1.0)


def expected_average_value(
    gg: GammaGammaParams, x: float, mean_spend: Decimal | float, *, quantum: Decimal = CENT
) -> Decimal:
    """E[M | p, q, gamma, x, m_x] = p (gamma + x m_x) / (p x + q - 1): the customer's expected spend per transaction.

    A weighted mean of the population mean p gamma / (q - 1) and the customer's own mean m_x, with weight
    p x / (p x + q - 1) on m_x: the more repeat transactions, the more the customer's own record counts. For x = 0
    it is the population mean (mean_spend is then ignored).
    """
    return _to_money(_spend_float(gg, x, mean_spend), quantum)


def _to_money(value: float, quantum: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_EVEN)  # numpy floats too


def predicted_clv(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    x: float,
    t_x: float,
    T: float,
    mean_spend: Decimal | float,
    horizon_days: float,
    annual_discount_rate: float,
    time_unit_days: float = 7,
    *,
    quantum: Decimal = CENT,
) -> Decimal:
    """Discounted expected value of the customer's purchases over the next ``horizon_days``.

    The horizon is cut into periods of one time unit (``time_unit_days``, 7 for a model fitted in weeks); the last
    period is shorter when the horizon is not a whole number of units. Period k, ending at t_k units from now,
    brings E[Y(t_k)] - E[Y(t_(k-1))] expected purchases, each worth the Gamma-Gamma expected average value, and is
    discounted as if paid at the end of the period (a slightly conservative convention, as in the `lifetimes`
    library), by the annual rate compounded to that moment: (1 + annual_discount_rate)^(-t_k * time_unit_days /
    365). A rate of 0 gives the undiscounted expected purchases times the expected value.
    """
    for name, value in (
        ("horizon_days", horizon_days),
        ("annual_discount_rate", annual_discount_rate),
        ("time_unit_days", time_unit_days),
    ):
        # any real number: numpy's integers and floats too (their repr is not a number: they go through float)
        number = value if isinstance(value, int | float) else getattr(value, "__float__", None)
        if isinstance(value, bool | str | bytes) or number is None or not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if horizon_days < 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    if annual_discount_rate <= -1:
        raise ValueError(f"annual_discount_rate must be > -1, got {annual_discount_rate}")
    if time_unit_days <= 0:
        raise ValueError(f"time_unit_days must be > 0, got {time_unit_days}")
    value_per_purchase = _spend_float(gg, x, mean_spend)
    _check_customer(x, t_x, T)
    horizon = horizon_days / time_unit_days
    log_growth = math.log1p(annual_discount_rate) * time_unit_days / DAYS_PER_YEAR
    total = 0.0
    previous = 0.0
    k = 0
    while k < horizon:
        k += 1
        t_k = min(float(k), horizon)
        cumulative = expected_purchases(bg, t_k, x, t_x, T)
        total += (cumulative - previous) * math.exp(-log_growth * t_k)
        previous = cumulative
    return _to_money(total * value_per_purchase, quantum)
