"""Fitted parameters: frozen floats that round-trip through plain dicts (JSON, DynamoDB after Decimal mapping)."""

from __future__ import annotations

import dataclasses
import json
import math
from decimal import Decimal

import pytest

from kpis.clv.model import BgNbdParams, GammaGammaParams


def test_params_round_trip_through_json():
    bg = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    assert BgNbdParams.from_dict(json.loads(json.dumps(bg.to_dict()))) == bg
    assert GammaGammaParams.from_dict(json.loads(json.dumps(gg.to_dict()))) == gg
    assert bg.to_dict() == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_params_are_frozen_floats():
    # Given numbers as DynamoDB hands them back (Decimal) and ints
    gg = GammaGammaParams.from_dict({"p": Decimal("6.25"), "q": 4, "gamma": Decimal("15.44")})
    # Then they are stored as floats, and cannot be changed
    assert (type(gg.p), type(gg.q), type(gg.gamma)) == (float, float, float)
    assert gg.q == 4.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        gg.p = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"r": 0.2, "alpha": 4.0, "a": 0.8}, ValueError, "needs b"),
        ({"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.0, "c": 1.0}, ValueError, "no field c"),
        ({"r": 0.0, "alpha": 4.0, "a": 0.8, "b": 2.0}, ValueError, "r must be a finite positive"),
        ({"r": 0.2, "alpha": math.inf, "a": 0.8, "b": 2.0}, ValueError, "alpha must be a finite positive"),
        ({"r": "0.2", "alpha": 4.0, "a": 0.8, "b": 2.0}, TypeError, "r must be a number"),
        ({"r": True, "alpha": 4.0, "a": 0.8, "b": 2.0}, TypeError, "r must be a number"),
    ],
)
def test_params_refuse_bad_values(data, error, message):
    with pytest.raises(error, match=message):
        BgNbdParams.from_dict(data)
