"""Error answers in one shape: ``code``, ``message`` and, for bad input, ``errors`` naming each field."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


class ApiError(Exception):
    """A request the cart API refuses, with the HTTP status it deserves."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors if errors is not None else ([{"field": field, "message": message}] if field else [])


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response[str]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.errors:
        body["errors"] = error.errors
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers,
    )
