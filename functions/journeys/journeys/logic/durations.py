"""Durations as a retailer writes them in a journey file: ``30m``, ``12h``, ``3d``, ``2w``, or several parts
(``1d12h``). Pure."""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = r"^\s*(\d+\s*[mhdw]\s*)+$"
_PART = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_DURATION = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """``"1d12h"`` -> 36 hours. Raises ``ValueError`` for anything else, zero, or more than a year."""
    if not re.match(DURATION_PATTERN, text):
        raise ValueError(f"duration {text!r}: expected e.g. 30m, 12h, 3d, 2w or 1d12h")
    total = sum((int(amount) * _UNITS[unit] for amount, unit in _PART.findall(text)), timedelta())
    if total <= timedelta():
        raise ValueError(f"duration {text!r}: must be longer than zero")
    if total > MAX_DURATION:
        raise ValueError(f"duration {text!r}: at most 366 days")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest spelling: 36 hours -> ``1d12h``."""
    minutes = int(value.total_seconds() // 60)
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        amount, minutes = divmod(minutes, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0m"
