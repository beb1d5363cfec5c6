"""Distances on the Earth and the grid cells the store directory is filed under (pure).

Stores are filed in cells of ``CELL_DEGREES`` latitude by ``CELL_DEGREES`` longitude (about 28 km by 21 km at
Istanbul's latitude), so "stores within r km" reads only the few cells the circle's bounding box touches
instead of every store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
CELL_DEGREES = 0.25
KM_PER_DEGREE_LAT = 111.32


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0) or not (-180.0 <= self.lon <= 180.0):
            raise ValueError("latitude must be in [-90, 90] and longitude in [-180, 180]")


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in kilometres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def cell_of(point: Point) -> str:
    """The grid cell a point is filed under, e.g. ``164#115`` (row and column counted from -90, -180)."""
    row = min(int((point.lat + 90.0) // CELL_DEGREES), int(180 / CELL_DEGREES) - 1)
    column = int((point.lon + 180.0) // CELL_DEGREES) % int(360 / CELL_DEGREES)
    return f"{row}#{column}"


def cells_within(centre: Point, radius_km: float) -> list[str]:
    """Every cell that a circle of ``radius_km`` around ``centre`` may touch (its bounding box's cells)."""
    rows = int(180 / CELL_DEGREES)
    columns = int(360 / CELL_DEGREES)
    dlat = radius_km / KM_PER_DEGREE_LAT
    lat_low, lat_high = max(-90.0, centre.lat - dlat), min(90.0, centre.lat + dlat)
    widest = max(abs(lat_low), abs(lat_high))
    cos = math.cos(math.radians(widest))
    # Near a pole (or for a huge radius) the box spans every longitude.
    dlon = 180.0 if cos < 1e-6 else min(180.0, radius_km / (KM_PER_DEGREE_LAT * cos))
    row_low = int((lat_low + 90.0) // CELL_DEGREES)
    row_high = min(int((lat_high + 90.0) // CELL_DEGREES), rows - 1)
    column_set = range(columns)
    if dlon < 180.0:
        first = math.floor((centre.lon - dlon + 180.0) / CELL_DEGREES)
        last = math.floor((centre.lon + dlon + 180.0) / CELL_DEGREES)
        column_set = range(first, last + 1)
    found = {f"{row}#{column % columns}" for row in range(row_low, row_high + 1) for column in column_set}
    return sorted(found)
