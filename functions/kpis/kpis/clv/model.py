"""Fitted parameters of the two CLV models, plain frozen values that travel as JSON-ready dicts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any, Self, TypeVar

_P = TypeVar("_P")


def _positive_floats(obj: object) -> None:
    for field in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, field.name)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise TypeError(f"{field.name} must be a number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number) or number <= 0:
            raise ValueError(f"{field.name} must be a finite positive number, got {value!r}")
        object.__setattr__(obj, field.name, number)


def _from_mapping(cls: type[_P], data: Mapping[str, Any]) -> _P:
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"{cls.__name__} needs {', '.join(missing)}")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(unknown)}")
    return cls(**{n: data[n] for n in names})


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """BG/NBD (Fader, Hardie & Lee 2005): purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b).

    alpha is in the time unit the model was fitted in (weeks for CDNOW); the others are unit-free.
    """

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        _positive_floats(self)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return _from_mapping(cls, data)


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, iso-value curves).

    A transaction's value ~ Gamma(p, nu) around the customer's mean p/nu; nu ~ Gamma(q, gamma) across customers.
    The population mean spend p * gamma / (q - 1) is finite only for q > 1.
    """

    p: float
    q: float
    gamma: float

    def __post_init__(self) -> None:
        _positive_floats(self)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return _from_mapping(cls, data)
