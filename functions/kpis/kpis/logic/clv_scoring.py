"""Scores one customer with the fitted BG/NBD + Gamma-Gamma parameters, from its running totals.

The models are fitted in weeks (as the published CDNOW estimates are): x counts repeat purchase days (the first
purchase day excluded), t_x and T are in weeks, spend is the mean gross revenue of the repeat purchase days in
the reporting currency. Pure Python (``kpis.clv.prediction``): no numpy or scipy in the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from kpis.clv.model import BgNbdParams, GammaGammaParams
from kpis.clv.prediction import expected_purchases, predicted_clv, probability_alive
from kpis.logic.customer import CustomerState

TIME_UNIT_DAYS = 7.0


@dataclass(frozen=True)
class ClvModel:
    bg: BgNbdParams
    gg: GammaGammaParams
    fitted_at: str
    sample_size: int

    def to_item(self) -> dict[str, Any]:
        return {
            "bgnbd": {name: Decimal(repr(value)) for name, value in self.bg.to_dict().items()},
            "gamma_gamma": {name: Decimal(repr(value)) for name, value in self.gg.to_dict().items()},
            "fitted_at": self.fitted_at,
            "sample_size": self.sample_size,
            "time_unit_days": Decimal(repr(TIME_UNIT_DAYS)),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ClvModel:
        return cls(
            bg=BgNbdParams.from_dict({name: float(value) for name, value in item["bgnbd"].items()}),
            gg=GammaGammaParams.from_dict({name: float(value) for name, value in item["gamma_gamma"].items()}),
            fitted_at=str(item["fitted_at"]),
            sample_size=int(item["sample_size"]),
        )


def summary(state: CustomerState, today: date) -> tuple[int, float, float, Decimal]:
    """(x, t_x weeks, T weeks, mean repeat spend)."""
    x, t_x_days, age_days, mean = state.rfm_inputs(today)
    return x, t_x_days / TIME_UNIT_DAYS, age_days / TIME_UNIT_DAYS, mean


def score(
    state: CustomerState, today: date, model: ClvModel, horizon_days: int, annual_discount_rate: float
) -> dict[str, Any]:
    if not state.orders_by_day:
        return {}
    x, t_x, age, mean = summary(state, today)
    if x > 0 and mean <= 0:
        mean = Decimal("0.01")
    horizon_units = horizon_days / TIME_UNIT_DAYS
    return {
        "predicted_clv": predicted_clv(
            model.bg, model.gg, x, t_x, age, mean, horizon_days, annual_discount_rate, TIME_UNIT_DAYS
        ),
        "probability_alive": Decimal(repr(round(float(probability_alive(model.bg, x, t_x, age)), 6))),
        "expected_purchases": Decimal(repr(round(float(expected_purchases(model.bg, horizon_units, x, t_x, age)), 6))),
        "horizon_days": horizon_days,
        "scored_on": today.isoformat(),
        "model_fitted_at": model.fitted_at,
    }
