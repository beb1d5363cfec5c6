"""``GET /v1/projects/{writeKey}/settings``: the settings analytics.js fetches from its CDN before anything else.

A web developer points analytics.js at this API with ``cdnURL`` (npm) or ``analytics._cdn`` (snippet); the answer
sends every call back here. An unknown write key is a 404 (the resource is the key's settings), as on Segment's CDN.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from capture import wiring
from capture.logic.sdk_settings import cdn_settings
from capture.models.sdk_settings import CdnSettings
from capture.settings import get_settings
from omnichannel.http_api import ApiError, ErrorBody, json_response

router = Router()

# Browsers and proxies may keep the settings for a while (as Segment's CDN lets them); a key removed from the
# secret stops being served within that time plus the secret's own cache.
CACHE_CONTROL = "public, max-age=300"


def _public_origin() -> str:
    """The origin callers reach this API on: ``PublicBaseUrl`` when set (a custom domain, maybe with a base path),
    else the domain API Gateway says it was called on (never the caller's Host header)."""
    configured = get_settings().public_base_url.strip().rstrip("/")
    if configured:
        return configured
    event: dict[str, Any] = router.current_event.raw_event
    domain = str((event.get("requestContext") or {}).get("domainName") or "")
    scheme = (router.current_event.headers.get("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    return f"{scheme if scheme in ('http', 'https') else 'https'}://{domain}"


@router.get(
    "/v1/projects/<writeKey>/settings",
    summary="analytics.js settings (Segment's CDN shape), pointing Segment.io at this API",
    responses={
        200: {"description": "The write key's settings", "content": {"application/json": {"model": CdnSettings}}},
        404: {"description": "Unknown write key", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def sdk_settings(writeKey: str) -> Response[str]:  # the path's own name, as Segment's CDN spells it
    if wiring.get_secrets().source_for_write_key(writeKey) is None:
        raise ApiError(404, "unknown_write_key", "no such write key", "path.writeKey")
    settings = cdn_settings(writeKey, _public_origin())
    return json_response(200, settings.model_dump(mode="json"), headers={"Cache-Control": CACHE_CONTROL})
