"""Channel webhooks: WhatsApp, Messenger, Instagram (Meta), Twilio SMS and voice, POS / store systems.

Every POST is checked with the provider's own signature over the exact bytes received (the handler keeps them at
``raw_event["rawBodyBytes"]``) before anything is parsed; a missing or wrong signature is answered 401 and nothing
is stored. Then the payload is mapped (capture/logic/webhooks/) and handed to the capture service, which
de-duplicates on event_id: a provider's retry is answered like the first delivery and stored once.

Answers are what each provider expects: Meta a quick 200 even when nothing in the notification was relevant,
Twilio an empty TwiML document, the POS a JSON summary (400 naming the field when the payload is invalid, 413
when the body is larger than 128 KB).
Logs carry provider, ids and counts, never a phone number, handle or message text.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from capture import wiring
from capture.logic.capture_service import CaptureOutcome
from capture.logic.signatures import (
    META_SIGNATURE_HEADER,
    POS_SIGNATURE_HEADER,
    POS_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SignatureError,
    meta_verify_token_matches,
    verify_meta_signature,
    verify_pos_signature,
    verify_twilio_signature,
)
from capture.logic.webhooks.mapping import Mapped, MappingContext
from capture.models.segment import CAPTURE_JSON, WebhookAccepted
from capture.observability import count_by, logger, metrics
from capture.settings import get_settings
from omnichannel.http_api import ApiError, ErrorBody, FieldError, inspect_body, json_response

router = Router()


def _answer(description: str, media: str = "application/json", model: Any = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"model": model} if model is not None else {"schema": {"type": "string"}}
    return {"description": description, "content": {media: schema}}


_REFUSED: dict[int, Any] = {
    400: _answer("The payload is invalid (fields named)", model=ErrorBody),
    401: _answer("Missing or wrong signature: nothing stored", model=ErrorBody),
    413: _answer("Larger than the provider's limit", model=ErrorBody),
}
_VERIFY_ANSWERS: dict[int, Any] = {
    200: _answer("hub.challenge, echoed", content_types.TEXT_PLAIN),
    400: _answer("hub.challenge missing", model=ErrorBody),
    403: _answer("Not our verify token", model=ErrorBody),
}
_META_ANSWERS: dict[int, Any] = {200: _answer("Accepted (counts)", model=WebhookAccepted), **_REFUSED}
_TWILIO_ANSWERS: dict[int, Any] = {200: _answer("Empty TwiML", "text/xml"), **_REFUSED}

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_CHALLENGE_LENGTH = 256
MAX_FORM_FIELDS = 500
# A POS body is stored whole next to its canonical event in one DynamoDB item (at most 400 KB), and the event goes
# on the bus (at most 256 KB an entry): with the model's limits (capture/models/pos.py), 128 KB keeps both well
# under (tests/integration/capture/test_webhooks.py builds the largest valid sale and checks).
MAX_POS_BODY_BYTES = 128 * 1024
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

MetaMapper = Callable[[Any, MappingContext], Mapped]


def _provider(module: str) -> Any:
    """A provider's mapping module, imported on its first webhook: tracking-API traffic never pays for it."""
    return importlib.import_module(f"capture.logic.webhooks.{module}")


# ---------------------------------------------------------------- request helpers


def _raw_body() -> bytes:
    """The body exactly as the provider signed it (base64 and gzip already undone by the handler)."""
    raw = router.current_event.raw_event.get("rawBodyBytes")
    if isinstance(raw, bytes):
        return raw
    return (router.current_event.body or "").encode("utf-8")


def _header(name: str) -> str | None:
    value = router.current_event.headers.get(name)
    return value if isinstance(value, str) else None


def _mapping_context() -> MappingContext:
    return MappingContext(received_at=wiring.now(), default_region=get_settings().default_phone_region)


def _count(name: str, provider: str, value: float = 1) -> None:
    count_by(name, "provider", provider, value)


def _refuse(provider: str, error: SignatureError) -> ApiError:
    _count("WebhookRejected", provider)
    logger.warning("webhook signature refused", extra={"provider": provider, "reason": error.reason})
    return ApiError(401, error.reason, error.message)


def _accept(provider: str, mapped: Mapped) -> CaptureOutcome:
    """Hand the mapped events to the capture service and record what happened (ids and counts only)."""
    outcome = wiring.get_capture_service().capture(mapped.events) if mapped.events else CaptureOutcome()
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(outcome.stored))
    metrics.add_metric(name="EventsDeduplicated", unit=MetricUnit.Count, value=len(outcome.duplicates))
    _count("WebhookAccepted", provider)
    if outcome.stored:
        _count("WebhookEventsCaptured", provider, len(outcome.stored))
    if mapped.dropped_identifiers:
        _count("WebhookIdentifiersDropped", provider, len(mapped.dropped_identifiers))
    logger.info(
        "webhook accepted",
        extra={
            "provider": provider,
            "stored": len(outcome.stored),
            "duplicates": len(outcome.duplicates),
            "ignored": mapped.ignored,
            "dropped_identifiers": [f"{d.identifier_type}:{d.reason}" for d in mapped.dropped_identifiers],
            "event_ids": [event.event_id for event in outcome.stored],
        },
    )
    return outcome


def _summary(outcome: CaptureOutcome, mapped: Mapped) -> Response[str]:
    return json_response(
        200,
        {
            "success": True,
            "accepted": len(outcome.stored),
            "duplicates": len(outcome.duplicates),
            "ignored": mapped.ignored,
        },
    )


# ---------------------------------------------------------------- Meta: WhatsApp, Messenger, Instagram


def _meta_verification(provider: str) -> Response[str]:
    """The subscription handshake: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    params = router.current_event.query_string_parameters or {}
    expected = wiring.get_secrets().meta_verify_token
    if not meta_verify_token_matches(expected, params.get("hub.mode"), params.get("hub.verify_token")):
        _count("WebhookVerificationRefused", provider)
        logger.warning("webhook subscription refused", extra={"provider": provider})
        raise ApiError(403, "verification_failed", "hub.mode must be subscribe and hub.verify_token ours")
    challenge = params.get("hub.challenge") or ""
    if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH or not challenge.isprintable():
        raise ApiError(400, "invalid_request", "hub.challenge is missing or not printable", "query.hub.challenge")
    metrics.add_metric(name="WebhookSubscriptionsVerified", unit=MetricUnit.Count, value=1)
    logger.info("webhook subscription verified", extra={"provider": provider})
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


def _meta_notification(provider: str, mapper: MetaMapper) -> Response[str]:
    body = _raw_body()
    try:
        verify_meta_signature(wiring.get_secrets().meta_app_secret, body, _header(META_SIGNATURE_HEADER))
    except SignatureError as error:
        raise _refuse(provider, error) from error
    payload, problems = inspect_body(body, CAPTURE_JSON)
    if problems:
        _count("WebhookInvalid", provider)
        errors = [FieldError(problem.field(), problem.message) for problem in problems]
        raise ApiError(400, "invalid_json", "the notification holds values capture does not take", errors=errors)
    mapped = mapper(payload, _mapping_context())
    return _summary(_accept(provider, mapped), mapped)


@router.get(
    "/webhooks/whatsapp", summary="WhatsApp Cloud API webhook verification (hub.challenge)", responses=_VERIFY_ANSWERS
)
def whatsapp_verify() -> Response[str]:
    return _meta_verification("whatsapp")


@router.post(
    "/webhooks/whatsapp", summary="WhatsApp Cloud API notifications (messages, statuses)", responses=_META_ANSWERS
)
def whatsapp_notification() -> Response[str]:
    return _meta_notification("whatsapp", _provider("whatsapp").map_whatsapp)


@router.get("/webhooks/messenger", summary="Messenger webhook verification (hub.challenge)", responses=_VERIFY_ANSWERS)
def messenger_verify() -> Response[str]:
    return _meta_verification("messenger")


@router.post("/webhooks/messenger", summary="Messenger notifications (messages, postbacks)", responses=_META_ANSWERS)
def messenger_notification() -> Response[str]:
    return _meta_notification("messenger", _provider("meta_messaging").map_messenger)


@router.get(
    "/webhooks/instagram", summary="Instagram messaging webhook verification (hub.challenge)", responses=_VERIFY_ANSWERS
)
def instagram_verify() -> Response[str]:
    return _meta_verification("instagram")


@router.post("/webhooks/instagram", summary="Instagram messaging notifications", responses=_META_ANSWERS)
def instagram_notification() -> Response[str]:
    return _meta_notification("instagram", _provider("meta_messaging").map_instagram)


# ---------------------------------------------------------------- Twilio: SMS and voice


def twilio_request_urls() -> list[str]:
    """The URL Twilio called (and signed): PUBLIC_BASE_URL's origin when configured, else the Host header's (or
    API Gateway's domain name), with the path and query string of this request."""
    raw_event = router.current_event.raw_event
    path = str(raw_event.get("rawPath") or router.current_event.path or "/")
    query = str(raw_event.get("rawQueryString") or "")
    base = get_settings().public_base_url.strip().rstrip("/")
    if base:
        parts = urlsplit(base)
        prefix = parts.path.rstrip("/")
        if prefix and not path.startswith(prefix + "/"):
            path = prefix + path
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        host = _header("host") or str((raw_event.get("requestContext") or {}).get("domainName") or "")
        scheme = (_header("x-forwarded-proto") or "https").split(",")[0].strip() or "https"
        origin = f"{scheme}://{host}"
    return [f"{origin}{path}?{query}" if query else f"{origin}{path}"]


def _twilio(provider: str, mapper: Callable[[dict[str, str], MappingContext], Mapped]) -> Response[str]:
    body = _raw_body()
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_body", "the body is not an HTML form (x-www-form-urlencoded)", "body") from exc
    try:
        verify_twilio_signature(
            wiring.get_secrets().twilio_auth_token, twilio_request_urls(), params, _header(TWILIO_SIGNATURE_HEADER)
        )
    except SignatureError as error:
        raise _refuse(provider, error) from error
    _accept(provider, mapper(dict(params), _mapping_context()))
    return Response(status_code=200, content_type="text/xml", body=EMPTY_TWIML)


@router.post("/webhooks/twilio/sms", summary="Twilio inbound SMS (answers empty TwiML)", responses=_TWILIO_ANSWERS)
def twilio_sms() -> Response[str]:
    return _twilio("twilio_sms", _provider("twilio").map_sms)


@router.post(
    "/webhooks/twilio/voice",
    summary="Twilio voice webhook and call status callbacks (empty TwiML)",
    responses=_TWILIO_ANSWERS,
)
def twilio_voice() -> Response[str]:
    return _twilio("twilio_voice", _provider("twilio").map_voice)


# ---------------------------------------------------------------- POS / store systems


@router.post(
    "/webhooks/pos/<store_id>", summary="A sale, return or visit from a store system (signed)", responses=_META_ANSWERS
)
def pos_event(store_id: str) -> Response[str]:
    if not STORE_ID.fullmatch(store_id):
        raise ApiError(400, "invalid_request", "invalid store id", "path.store_id")
    body = _raw_body()
    if len(body) > MAX_POS_BODY_BYTES:
        _count("WebhookTooLarge", "pos")
        limit_kb = MAX_POS_BODY_BYTES // 1024
        message = f"a POS event is larger than {limit_kb} KB (one sale per request)"
        raise ApiError(413, "payload_too_large", message, "body")
    try:
        verify_pos_signature(
            wiring.get_secrets().pos_secret(store_id),
            store_id,
            body,
            _header(POS_SIGNATURE_HEADER),
            _header(POS_TIMESTAMP_HEADER),
            now=wiring.now(),
        )
    except SignatureError as error:
        raise _refuse("pos", error) from error
    pos = _provider("pos")
    try:
        record = pos.parse_pos_payload(body, received_at=wiring.now())
    except pos.InvalidPosPayload as invalid:
        _count("WebhookInvalid", "pos")
        errors = [FieldError(field=field, message=message) for field, message in invalid.problems]
        raise ApiError(400, "invalid_request", "the POS event is not valid", errors=errors) from invalid
    mapped = pos.map_pos(record, store_id, _mapping_context(), raw=body.decode("utf-8"))
    return _summary(_accept("pos", mapped), mapped)
