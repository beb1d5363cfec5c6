"""The fields a request failed on, from Powertools' ``RequestValidationError``: what every API's 400 names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

REQUEST_PARTS = ("body", "query", "path")


class ValidationErrors(Protocol):
    def errors(self) -> Sequence[Mapping[str, Any]]: ...


def field_errors(error: ValidationErrors, *, strip: Sequence[str] = REQUEST_PARTS) -> list[dict[str, str]]:
    """``{"field": "properties.price", "message": ...}`` per failed field; the request parts in ``strip`` are left
    out of the field's dotted path (capture, carts and the stores API keep ``query.``/``path.``: strip only body)."""
    return [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part not in strip),
            "message": str(item["msg"]),
        }
        for item in error.errors()
    ]
