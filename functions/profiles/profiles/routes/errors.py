"""Error answers in one shape: ``code``, ``message`` and, for bad input, ``errors`` naming each field."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []


def error_response(error: ApiError) -> Response[str]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.errors:
        body["errors"] = [asdict(item) for item in error.errors]
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    )
