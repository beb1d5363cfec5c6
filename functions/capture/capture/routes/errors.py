"""Error answers in one shape: the Segment SDKs read ``code`` and ``message``; ``errors`` names each field."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class CaptureError(Exception):
    """A request the capture function refuses, with the HTTP status it deserves."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.headers = headers or {}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers,
    )


def error_body(error: CaptureError) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "code": error.code, "message": error.message}
    if error.errors:
        body["errors"] = [asdict(item) for item in error.errors]
    return body


def error_response(error: CaptureError) -> Response[str]:
    return json_response(error.status, error_body(error), error.headers)


def error_payload(error: CaptureError) -> dict[str, Any]:
    """The API Gateway proxy answer for an error raised before routing (body decoding)."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **error.headers},
        "body": json.dumps(error_body(error), ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }
