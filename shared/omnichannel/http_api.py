"""The one HTTP front door every API shares (capture, profiles, carts, handoff, handoff stores, KPIs).

- **One error body** for every 4xx and 5xx a function answers, the shape the Segment SDKs already read::

      {"success": false, "code": "invalid_request", "message": "...", "errors": [{"field": "...", "message": "..."}]}

  ``errors`` lists at most ``MAX_LISTED_ERRORS`` fields (``more_errors`` counts the rest); every text in it is
  clipped, so an answer stays small whatever the request held. API Gateway's own answers (the JWT authorizer's 401,
  its 404 for no route, 413 above 10 MB, 429 when throttled) are ``{"message": ...}``: ``message`` is in both.
- **One rule for field paths**: a body field is its dotted path from the body's root (``items.0.sku``,
  ``batch.3.userId``), the whole body is ``body``; anything else is prefixed by where it was sent (``query.end``,
  ``path.store_id``, ``header.if-match``).
- **Strict JSON**: bodies are parsed by :func:`inspect_json`, which refuses, naming the field, what ``json.loads``
  would let through or crash on: ``NaN``/``Infinity`` and numbers beyond the limits (``1e400`` would become
  infinity, then ``null``), integers of thousands of digits (``ValueError`` past 4,300), repeated keys, lone
  surrogates, nesting deeper than ``max_depth``.
- **Bodies decoded before routing**: base64 undone, the text checked to be UTF-8 (else 400), a ``Content-Encoding``
  the function does not take refused with 415, a JSON route refusing other media types with 415.
- **The resolver set-up** (:func:`api_resolver`), the entry point's tail (:func:`handle`) and the OpenAPI document
  (:func:`openapi_document`), so each function's ``handlers/api.py`` holds only its own routes and exceptions.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, Field

from omnichannel.auth import Forbidden
from omnichannel.json_input import DEFAULT_LIMITS, JsonLimits, JsonProblem, NotJson, field_path, inspect_json

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_LISTED_ERRORS = 50
MAX_FIELD_CHARS = 200
MAX_MESSAGE_CHARS = 300
__all__ = [
    "DEFAULT_LIMITS",
    "ApiError",
    "ErrorBody",
    "FieldError",
    "FieldProblem",
    "JsonLimits",
    "JsonProblem",
    "api_resolver",
    "error_response",
    "field_path",
    "handle",
    "inspect_body",
    "json_response",
    "openapi_document",
    "parse_json",
    "refuse",
]


# ---------------------------------------------------------------------------------------------- the error body


@dataclass(frozen=True)
class FieldError:
    """One refused field: its path (:func:`field_path`) and why."""

    field: str
    message: str


class ApiError(Exception):
    """A request refused with ``status``: ``code`` for machines, ``message`` for people, ``errors`` naming fields.

    ``field`` is a shorthand for one error about one field (``errors=[FieldError(field, message)]``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        errors: Iterable[FieldError | Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        listed = [
            item if isinstance(item, FieldError) else FieldError(item["field"], item["message"])
            for item in errors or ()
        ]
        if field is not None and not listed:
            listed = [FieldError(field, message)]
        self.errors = listed
        self.headers = dict(headers or {})


class FieldProblem(BaseModel):
    field: str = Field(description="Where: a body path (items.0.sku), or query./path./header. and the name")
    message: str


class ErrorBody(BaseModel):
    """Every error a function answers (4xx and 5xx): the Segment SDKs read ``code`` and ``message``."""

    success: bool = Field(description="Always false")
    code: str = Field(examples=["invalid_request", "unauthorized", "payload_too_large"])
    message: str
    errors: list[FieldProblem] = Field(description=f"The fields refused, at most {MAX_LISTED_ERRORS}; may be empty")
    more_errors: int = Field(default=0, description="Fields refused beyond those listed (sent only when any)")


def clip(text: str, limit: int) -> str:
    """``text`` as valid UTF-8 (a lone surrogate becomes ``?``), at most ``limit`` characters."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_body(error: ApiError) -> dict[str, Any]:
    listed = error.errors[:MAX_LISTED_ERRORS]
    body: dict[str, Any] = {
        "success": False,
        "code": error.code,
        "message": clip(error.message, MAX_MESSAGE_CHARS),
        "errors": [
            {"field": clip(item.field, MAX_FIELD_CHARS), "message": clip(item.message, MAX_MESSAGE_CHARS)}
            for item in listed
        ],
    }
    if len(error.errors) > len(listed):
        body["more_errors"] = len(error.errors) - len(listed)
    return body


def json_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json_text(body),
        headers=dict(headers) if headers else None,
    )


def error_response(error: ApiError) -> Response[str]:
    return json_response(error.status, error_body(error), error.headers)


def error_payload(error: ApiError) -> dict[str, Any]:
    """The API Gateway proxy answer for an error found before routing (the body could not be decoded)."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **error.headers},
        "body": json_text(error_body(error)),
        "isBase64Encoded": False,
    }


# ---------------------------------------------------------------------------------------------- field paths


def validation_errors(error: Any, prefix: str = "") -> list[FieldError]:
    """Pydantic's or Powertools' validation errors as fields; one entry per field (messages joined)."""
    found: dict[str, list[str]] = {}
    for item in error.errors():
        if item.get("type") == "json_invalid":
            reason = (item.get("ctx") or {}).get("error") or "not valid JSON"
            found.setdefault("body", []).append(f"not valid JSON: {reason}")
            continue
        path = field_path(item.get("loc", ()), prefix)
        messages = found.setdefault(path, [])
        if item["msg"] not in messages:
            messages.append(str(item["msg"]))
    return [FieldError(path, " or ".join(messages)) for path, messages in found.items()]


# ---------------------------------------------------------------------------------------------- strict JSON


def inspect_body(text: str | bytes, limits: JsonLimits = DEFAULT_LIMITS) -> tuple[Any, list[JsonProblem]]:
    """:func:`omnichannel.json_input.inspect_json`, with text that is not JSON at all refused (400)."""
    try:
        return inspect_json(text, limits)
    except NotJson as exc:
        raise ApiError(400, exc.code, str(exc), "body") from exc


def parse_json(text: str | bytes, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """``json.loads`` that refuses (400, naming each field) what :func:`inspect_json` finds."""
    value, problems = inspect_body(text, limits)
    if problems:
        errors = [FieldError(problem.field(), problem.message) for problem in problems]
        raise ApiError(400, "invalid_json", "the body holds values this API does not take", errors=errors)
    return value


# ---------------------------------------------------------------------------------------------- the request body

BodyDecoder = Callable[[Mapping[str, Any], bytes], bytes]
_JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")


def header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return value if isinstance(value, str) else None


def raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, "invalid_body", "the body is not valid base64", "body") from exc
    if isinstance(body, bytes):
        return body
    try:
        return str(body).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, "invalid_body", "the body is not UTF-8 text", "body") from exc


def with_text_body(
    event: Mapping[str, Any], *, decode: BodyDecoder | None = None, json_only: bool = True
) -> dict[str, Any]:
    """A copy of ``event`` whose body is UTF-8 text (``rawBodyBytes`` keeps the bytes, for signatures).

    ``decode`` undoes a ``Content-Encoding`` the function takes (capture's gzip); without it any encoding but
    ``identity`` is 415. With ``json_only`` a body of another media type than JSON is 415 (none given: JSON).
    """
    data = raw_body(event)
    headers = dict(event.get("headers") or {})
    if decode is not None:
        data = decode(event, data)
        headers = {k: v for k, v in headers.items() if str(k).lower() != "content-encoding"}
    else:
        encoding = (header(event, "content-encoding") or "").strip().lower()
        if encoding not in ("", "identity"):
            raise ApiError(
                415,
                "unsupported_encoding",
                f"Content-Encoding {clip(encoding, 40)!r} is not taken here",
                "header.content-encoding",
            )
    if json_only and data:
        media = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
        if media and not _JSON_MEDIA.match(media):
            raise ApiError(
                415,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
                "header.content-type",
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_body", "the body is not UTF-8 text", "body") from exc
    plain = dict(event)
    plain.update(body=text, isBase64Encoded=False, rawBodyBytes=data, headers=headers)
    return plain


# ---------------------------------------------------------------------------------------------- the resolver


def api_resolver(
    logger: Logger, metrics: Metrics | None = None, *, limits: JsonLimits = DEFAULT_LIMITS
) -> APIGatewayHttpResolver:
    """``APIGatewayHttpResolver(enable_validation=True)`` with the strict JSON parser and every error answered in
    the one body: ``ApiError``, validation (400), media type (415), ``Forbidden`` (403), unknown route (404),
    and anything unforeseen (500, logged with its traceback)."""
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=lambda text: parse_json(text, limits))

    def refuse(error: ApiError) -> Response[str]:
        if metrics is not None:
            metrics.add_metric(name="RequestsRefused", unit="Count", value=1)
        logger.info("request refused", extra={"status": error.status, "code": error.code})
        return error_response(error)

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response[str]:
        return refuse(error)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response[str]:
        return refuse(
            ApiError(400, "invalid_request", "the request does not match the API", errors=validation_errors(error))
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(_: RequestUnsupportedContentType) -> Response[str]:
        message = "the body must be JSON (Content-Type: application/json)"
        return refuse(ApiError(415, "unsupported_media_type", message, "header.content-type"))

    @app.exception_handler(Forbidden)
    def _forbidden(error: Forbidden) -> Response[str]:
        return refuse(ApiError(403, "forbidden", str(error) or "not allowed"))

    @app.exception_handler(NotFoundError)
    def _not_found(_: NotFoundError) -> Response[str]:
        return refuse(ApiError(404, "not_found", "no such route"))

    @app.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response[str]:
        status = HTTPStatus(error.status_code)
        return refuse(ApiError(status, status.phrase.lower().replace(" ", "_"), str(error.msg)))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error", extra={"error": type(error).__name__})
        if metrics is not None:
            metrics.add_metric(name="UnexpectedErrors", unit="Count", value=1)
        return error_response(ApiError(500, "internal_error", "an unexpected error; it was logged, try again later"))

    return app


def refuse(app: APIGatewayHttpResolver, error: ApiError) -> Response[str]:
    """``error`` answered as the resolver answers every refusal (logged, counted): for a function's own exception
    handlers that map a domain error to an :class:`ApiError`."""
    handler = app.exception_handler_manager.lookup_exception_handler(ApiError)
    if handler is None:
        return error_response(error)
    response: Response[str] = handler(error)
    return response


def handle(
    app: APIGatewayHttpResolver,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    decode: BodyDecoder | None = None,
    json_only: bool = True,
) -> dict[str, Any]:
    """The tail of every API entry point: decode the body (400/415 before routing), then route."""
    try:
        plain = with_text_body(event, decode=decode, json_only=json_only)
    except ApiError as error:
        refuse(app, error)  # logged and counted like any refusal
        return error_payload(error)
    return app.resolve(plain, context)


# ---------------------------------------------------------------------------------------------- OpenAPI

GATEWAY_ERROR_SCHEMA = {
    "title": "GatewayError",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "title": "Message"}},
    "description": (
        'API Gateway\'s own answers carry only `message` (the JWT authorizer\'s 401 is {"message": "Unauthorized"}); '
        "a function's answers (ErrorBody) carry `message` too."
    ),
}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def openapi_document(
    app: APIGatewayHttpResolver,
    *,
    title: str,
    description: str,
    security_schemes: Mapping[str, Any] | None = None,
    security: list[dict[str, list[str]]] | None = None,
    jwt_scheme: str = "jwt",
) -> str:
    """The API's OpenAPI document, with the one error body: Powertools' 422 becomes the 400 this API answers,
    every operation that takes input documents 400 and 415, and routes behind the JWT authorizer its 401."""
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=title,
            version="1.0.0",
            description=description,
            security_schemes=dict(security_schemes) if security_schemes else None,
            security=security,
        )
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
    schemas["ErrorBody"].pop("$defs", None)
    schemas["GatewayError"] = GATEWAY_ERROR_SCHEMA
    for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):  # Powertools' 422, unused
        schemas.pop(name, None)
    default_security = document.get("security") or []
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            answers.pop("422", None)
            takes_input = bool(operation.get("parameters")) or "requestBody" in operation
            if takes_input and "400" not in answers:
                answers["400"] = {"description": "Bad input; `errors` names each field", "content": _error_content()}
            if "requestBody" in operation and "415" not in answers:
                answers["415"] = {"description": "The body is not JSON", "content": _error_content()}
            secured = operation.get("security", default_security) or []
            if any(jwt_scheme in requirement for requirement in secured):
                answers["401"] = {
                    "description": "No or invalid bearer token (API Gateway's JWT authorizer answers it)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
                }
    return json.dumps(document)
