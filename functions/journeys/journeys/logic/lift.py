"""A journey's lift: goal conversion of the customers who entered it against those held out (pure).

- ``conversion``: converted / entered in each group.
- ``absolute`` lift: p_treatment - p_holdout (percentage points), with **Newcombe's hybrid score interval**
  (Newcombe 1998, method 10: the difference of two Wilson score intervals), which keeps its coverage with small
  groups and rates near 0 or 1, where the textbook Wald interval does not.
- ``relative`` lift: p_treatment / p_holdout - 1, with the **Katz log interval** for a ratio of proportions
  (needs a conversion in both groups).
- ``p_value``: two-sided, pooled two-proportion z-test of "no difference".

95 % by default. A group without customers gives no figures (``None``), never a division by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


def z_for(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Lift:
    entered: int
    converted: int
    held_out: int
    converted_held_out: int
    confidence: float
    treatment_rate: float | None
    holdout_rate: float | None
    absolute: float | None
    absolute_interval: tuple[float, float] | None
    relative: float | None
    relative_interval: tuple[float, float] | None
    p_value: float | None

    def as_dict(self) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        def pair(value: tuple[float, float] | None) -> list[float] | None:
            return None if value is None else [round(value[0], 6), round(value[1], 6)]

        return {
            "entered": self.entered,
            "converted": self.converted,
            "held_out": self.held_out,
            "converted_held_out": self.converted_held_out,
            "treatment_rate": rounded(self.treatment_rate),
            "holdout_rate": rounded(self.holdout_rate),
            "absolute": rounded(self.absolute),
            "absolute_interval": pair(self.absolute_interval),
            "relative": rounded(self.relative),
            "relative_interval": pair(self.relative_interval),
            "p_value": rounded(self.p_value),
            "confidence": self.confidence,
            "interval": "Newcombe hybrid score (difference), Katz log (ratio)",
        }


def lift(entered: int, converted: int, held_out: int, converted_held_out: int, confidence: float = 0.95) -> Lift:
    if not (0 <= converted <= entered and 0 <= converted_held_out <= held_out):
        raise ValueError("conversions must be between 0 and the group's size")
    z = z_for(confidence)
    p1 = converted / entered if entered else None
    p0 = converted_held_out / held_out if held_out else None
    absolute = interval = relative = relative_interval = p_value = None
    if p1 is not None and p0 is not None:
        absolute = p1 - p0
        l1, u1 = wilson(converted, entered, z)
        l0, u0 = wilson(converted_held_out, held_out, z)
        interval = (
            absolute - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
            absolute + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
        )
        pooled = (converted + converted_held_out) / (entered + held_out)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / entered + 1 / held_out))
        p_value = 1.0 if spread == 0 else 2 * (1 - NormalDist().cdf(abs(absolute) / spread))
        if converted and converted_held_out:
            relative = p1 / p0 - 1
            log_spread = math.sqrt(1 / converted - 1 / entered + 1 / converted_held_out - 1 / held_out)
            ratio = p1 / p0
            relative_interval = (ratio * math.exp(-z * log_spread) - 1, ratio * math.exp(z * log_spread) - 1)
    return Lift(
        entered,
        converted,
        held_out,
        converted_held_out,
        confidence,
        p1,
        p0,
        absolute,
        interval,
        relative,
        relative_interval,
        p_value,
    )
