"""Segment HTTP Tracking API: ``/v1/{identify,track,page,screen,group,alias,batch,import}`` and analytics.js's
one-letter paths. Write key as HTTP Basic auth (or ``writeKey`` in the body, as analytics.js sends it).

Answers as the SDKs expect: 200 ``{"success": true, ...}`` when anything was accepted (a batch reports the
messages it refused: at most 50 listed, ``more_rejected`` counts the rest), 400 with the fields when nothing was,
401 for a missing or unknown write key, 413 when larger than Segment's limits (32 KB a call, 500 KB a batch).
A duplicate (same messageId) is answered 200.

Capture is the gate of the bus: only what every consumer can process goes on. JSON is read strictly (finite
numbers of a sane size, no repeated keys, nesting bounded: ``CAPTURE_JSON``), timestamps must fall in the window
(``capture.models.segment``), a batch holds at most 2,500 messages. A bad message in a batch is refused on its own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError

from capture import wiring
from capture.logic.capture_service import CaptureOutcome, IncomingEvent
from capture.logic.segment_message import BatchDefaults, MessageProblem, to_canonical
from capture.models.segment import (
    CAPTURE_JSON,
    EARLIEST_IMPORTED_EVENT,
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_ERRORS_PER_MESSAGE,
    MAX_LISTED_REJECTIONS,
    MAX_MESSAGE_BYTES,
    AcceptedResponse,
    BatchEnvelope,
    SegmentMessage,
)
from capture.observability import count_by, metrics
from capture.secrets import WriteKeySource
from capture.settings import get_settings
from omnichannel.http_api import (
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    ApiError,
    ErrorBody,
    FieldError,
    JsonProblem,
    clip,
    inspect_body,
    json_response,
    validation_errors,
)

router = Router()


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


# The bodies are validated message by message (a bad message must not sink a batch), so the OpenAPI document
# gets their schemas from the models here rather than from a validated route parameter.
_ANSWERS: dict[int, Any] = {
    200: {
        "description": "Accepted; a batch lists the messages it refused",
        **_json_content({"$ref": "#/components/schemas/AcceptedResponse"}),
    },
    400: {
        "description": "Malformed JSON, or nothing acceptable (fields named)",
        "content": {"application/json": {"model": ErrorBody}},
    },
    401: {"description": "Missing or unknown write key", "content": {"application/json": {"model": ErrorBody}}},
    413: {
        "description": "Larger than 32 KB a call or 500 KB a batch (1 MB once decompressed)",
        "content": {"application/json": {"model": ErrorBody}},
    },
    415: {"description": "An unknown Content-Encoding", "content": {"application/json": {"model": ErrorBody}}},
}
_CALL_SCHEMA = SegmentMessage.model_json_schema()
_CALL_SCHEMA["required"] = [name for name in _CALL_SCHEMA.get("required", []) if name != "type"]  # the path says it
_CALL_BODY = {"requestBody": {"required": True, **_json_content(_CALL_SCHEMA)}}
_BATCH_BODY = {"requestBody": {"required": True, **_json_content(BatchEnvelope.model_json_schema())}}
_SECURITY: list[dict[str, list[str]]] = [{"writeKey": []}]

SHORT_PATHS = {"t": "track", "p": "page", "i": "identify", "s": "screen", "g": "group", "a": "alias", "b": "batch"}


def _json_body() -> tuple[Any, list[JsonProblem]]:
    """The body and the parts of it refused by the strict reading (NaN, 1e400, repeated keys ...)."""
    return inspect_body(router.current_event.body or "", CAPTURE_JSON)


_UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="tracking-api"'}


def _header_write_key() -> str | None:
    """The write key of ``Authorization: Basic`` (the username); '' when the header is there but unreadable."""
    authorization = router.current_event.headers.get("authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        return base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _source_of(write_key: str | None) -> WriteKeySource:
    if not write_key:
        raise ApiError(401, "unauthorized", "send the write key as HTTP Basic auth username", headers=_UNAUTHORIZED)
    source = wiring.get_secrets().source_for_write_key(write_key)
    if source is None:
        raise ApiError(401, "unauthorized", "unknown write key", headers=_UNAUTHORIZED)
    return source


def _authenticated_body() -> tuple[WriteKeySource, Any, list[JsonProblem]]:
    """The caller's source, the parsed body and the parts of it refused. A Basic-auth key is checked before the
    body is parsed, so strangers cannot make us parse anything; analytics.js's ``writeKey`` in the body is read
    after parsing (it has to be)."""
    header_key = _header_write_key()
    source = _source_of(header_key) if header_key is not None else None
    body, problems = _json_body()
    if source is None:
        in_body = body.get("writeKey") if isinstance(body, dict) else None
        source = _source_of(in_body if isinstance(in_body, str) else None)
    return source, body, problems


def _check_size(limit: int, what: str) -> None:
    if len(router.current_event.raw_event.get("rawBodyBytes") or b"") > limit:
        raise ApiError(413, "payload_too_large", f"{what} is larger than {limit // 1024} KB", "body")


def _record(outcome: CaptureOutcome, rejected: int) -> None:
    for channel, count in Counter(event.channel.value for event in outcome.stored).items():
        count_by("EventsAcceptedByChannel", "channel", channel, count)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=len(outcome.stored))
    metrics.add_metric(name="EventsDeduplicated", unit="Count", value=len(outcome.duplicates))
    metrics.add_metric(name="EventsRejected", unit="Count", value=rejected)


def _capture(items: list[IncomingEvent]) -> CaptureOutcome:
    return wiring.get_capture_service().capture(items) if items else CaptureOutcome()


def _defaults(source: WriteKeySource, envelope: BatchEnvelope | None = None) -> BatchDefaults:
    return BatchDefaults(
        source=source,
        received_at=wiring.now(),
        sent_at=envelope.sentAt if envelope else None,
        context=envelope.context if envelope else None,
        integrations=envelope.integrations if envelope else None,
        default_phone_region=get_settings().default_phone_region,
    )


def _field_errors(problems: list[MessageProblem]) -> list[FieldError]:
    return [FieldError(field=problem.field, message=problem.message) for problem in problems]


def _refuse_body(problems: list[JsonProblem], prefix: str = "") -> ApiError:
    errors = [FieldError(problem.field(prefix), problem.message) for problem in problems]
    return ApiError(400, "invalid_message", "the message holds values capture does not take", errors=errors)


def single_call(message_type: str) -> Response[str]:
    _check_size(MAX_MESSAGE_BYTES, "a single call")
    source, body, problems = _authenticated_body()
    if problems:
        _record(CaptureOutcome(), rejected=1)
        raise _refuse_body(problems)
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "writeKey"}
    result = to_canonical(body, _defaults(source), forced_type=message_type)
    if isinstance(result, list):
        _record(CaptureOutcome(), rejected=1)
        raise ApiError(400, "invalid_message", "the message was refused", errors=_field_errors(result))
    outcome = _capture([result])
    _record(outcome, rejected=0)
    answer = AcceptedResponse(accepted=len(outcome.stored), duplicates=len(outcome.duplicates))
    return json_response(200, answer.model_dump(mode="json"))


def _message_problems(problems: list[JsonProblem]) -> tuple[dict[int, list[MessageProblem]], list[JsonProblem]]:
    """The strict reading's refusals of a batch body: those inside ``batch[i]`` refuse message i only; the rest
    (the envelope's own fields) refuse the whole request."""
    by_message: dict[int, list[MessageProblem]] = {}
    envelope: list[JsonProblem] = []
    for problem in problems:
        location = problem.location
        if len(location) >= 2 and location[0] == "batch" and isinstance(location[1], int):
            inside = JsonProblem(location[2:], problem.message)
            field = inside.field(f"batch.{location[1]}.")
            by_message.setdefault(location[1], []).append(MessageProblem(field, problem.message))
        else:
            envelope.append(problem)
    return by_message, envelope


def _rejection(index: int, raw: Any, problems: list[MessageProblem]) -> dict[str, Any]:
    """One refused message as the answer lists it: every text clipped, so the answer stays small."""
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return {
        "index": index,
        "messageId": clip(message_id, 200) if isinstance(message_id, str) else None,
        "errors": [
            {"field": clip(p.field, MAX_FIELD_CHARS), "message": clip(p.message, MAX_MESSAGE_CHARS)}
            for p in problems[:MAX_ERRORS_PER_MESSAGE]
        ],
    }


def batch_call(*, historical: bool = False) -> Response[str]:
    _check_size(MAX_BATCH_BYTES, "a batch")
    source, body, problems = _authenticated_body()
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid_request", "the body must be a JSON object", errors=[FieldError("body", "not an object")]
        )
    messages = body.get("batch")
    if isinstance(messages, list) and len(messages) > MAX_BATCH_MESSAGES:
        message = f"at most {MAX_BATCH_MESSAGES} messages a batch; this one has {len(messages)}"
        raise ApiError(400, "too_many_messages", message, "batch")
    refused_in, envelope_problems = _message_problems(problems)
    if envelope_problems:
        raise _refuse_body(envelope_problems)
    try:
        envelope = BatchEnvelope.model_validate(body)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise ApiError(400, "invalid_request", "the batch envelope is malformed", errors=errors) from exc
    if envelope.context and len(json.dumps(envelope.context, default=str).encode()) > MAX_MESSAGE_BYTES:
        raise ApiError(400, "invalid_request", "the batch context is too large", "context")
    defaults = _defaults(source, envelope)
    if historical:
        defaults = replace(defaults, earliest=EARLIEST_IMPORTED_EVENT)
    accepted: list[IncomingEvent] = []
    rejected: list[dict[str, Any]] = []
    refused = 0
    for index, raw in enumerate(envelope.batch):
        result = refused_in.get(index) or to_canonical(raw, defaults, prefix=f"batch.{index}.")
        if isinstance(result, list):
            refused += 1
            if len(rejected) < MAX_LISTED_REJECTIONS:
                rejected.append(_rejection(index, raw, result))
        else:
            accepted.append(result)
    if refused and not accepted:
        _record(CaptureOutcome(), rejected=refused)
        errors = [FieldError(**error) for item in rejected for error in item["errors"]]
        message = f"no message in the batch was acceptable ({refused} refused)"
        raise ApiError(400, "invalid_batch", message, errors=errors)
    outcome = _capture(accepted)
    _record(outcome, rejected=refused)
    answer = {
        "success": True,
        "accepted": len(outcome.stored),
        "duplicates": len(outcome.duplicates),
        "rejected": rejected,
        "more_rejected": refused - len(rejected),
    }
    return json_response(200, answer)


@router.post(
    "/v1/batch",
    summary="Send several calls at once (Segment batch)",
    responses={
        **_ANSWERS,
        200: {"description": "Accepted", "content": {"application/json": {"model": AcceptedResponse}}},
    },
    openapi_extensions=_BATCH_BODY,
    security=_SECURITY,
)
def batch() -> Response[str]:
    return batch_call()


@router.post(
    "/v1/import",
    summary="Historical import (a batch whose events may be as old as 1970)",
    responses=_ANSWERS,
    openapi_extensions=_BATCH_BODY,
    security=_SECURITY,
)
def import_batch() -> Response[str]:
    return batch_call(historical=True)


SINGLE_CALLS = {
    "identify": "Identify: who the customer is, with traits",
    "track": "Track: something the customer did",
    "page": "Page: a web page viewed",
    "screen": "Screen: an app screen viewed",
    "group": "Group: the customer's company or household",
    "alias": "Alias: link a previous identity to this one",
}


def _route_single_call(kind: str, summary: str) -> None:
    def route() -> Response[str]:
        return single_call(kind)

    route.__name__ = kind  # the OpenAPI operationId
    router.post(f"/v1/{kind}", summary=summary, responses=_ANSWERS, openapi_extensions=_CALL_BODY, security=_SECURITY)(
        route
    )


for _kind, _summary in SINGLE_CALLS.items():
    _route_single_call(_kind, _summary)


@router.post(
    "/v1/<short>",
    summary="analytics.js one-letter paths (t, p, i, s, g, a, b)",
    responses={
        **_ANSWERS,
        404: {"description": "No such tracking API call", "content": {"application/json": {"model": ErrorBody}}},
    },
    openapi_extensions=_CALL_BODY,
    security=_SECURITY,
)
def short_path(short: str) -> Response[str]:
    kind = SHORT_PATHS.get(short)
    if kind is None:
        raise ApiError(404, "not_found", f"no tracking API call at /v1/{short[:40]}", "path.short")
    return batch_call() if kind == "batch" else single_call(kind)
