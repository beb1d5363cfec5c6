"""Error answers in one shape: ``{"code", "message", "field"?, "errors"?}`` (bad input names the field)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


class ApiError(Exception):
    """A request the handoff API refuses, with the HTTP status it deserves."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors or []
        self.headers = headers or {}


def error_response(error: ApiError) -> Response[str]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    if error.errors:
        body["errors"] = error.errors
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=error.headers or None,
    )
