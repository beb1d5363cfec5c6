"""Every KPI view as CSV (``Accept: text/csv``): one row per line of the view, nested figures flattened into
columns (``unconverted.EUR.orders``), numbers as the JSON answer writes them. Spreadsheets open it as it is."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

CSV_TYPE = "text/csv; charset=utf-8"


def wants_csv(accept: str | None) -> bool:
    """True when the caller prefers CSV (``Accept: text/csv``, also inside a list of types)."""
    return any(part.split(";")[0].strip().lower() == "text/csv" for part in (accept or "").split(","))


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{name}."))
        elif isinstance(value, list):
            continue  # nested tables (a cohort's months) are flattened by their view
        else:
            out[f"{prefix}{name}"] = "" if value is None else value
    return out


def table(rows: Iterable[Mapping[str, Any]]) -> str:
    flat = [_flat(row) for row in rows]
    columns: list[str] = []
    for row in flat:
        columns += [name for name in row if name not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def response(rows: Iterable[Mapping[str, Any]], filename: str) -> Response[str]:
    return Response(
        status_code=200,
        content_type=CSV_TYPE,
        body=table(rows),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def cohort_rows(cohorts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per cohort, its retention as columns ``m0_customers``, ``m0_rate`` ..."""
    out = []
    for cohort in cohorts:
        row = {name: value for name, value in cohort.items() if name != "months"}
        for month in cohort["months"]:
            row[f"m{month['offset']}_customers"] = month["customers"]
            row[f"m{month['offset']}_rate"] = month["rate"]
        out.append(row)
    return out
