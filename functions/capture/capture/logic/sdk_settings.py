"""Where analytics.js should send its calls: this API's own origin, as Segment's CDN settings say it.

No HTTP here: the route hands in the public origin it was reached on (or the configured ``PublicBaseUrl``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from capture.models.sdk_settings import CdnSettings, SegmentIoSettings

TRACKING_PATH = "/v1"


def api_target(origin: str) -> tuple[str, str]:
    """``("https", "api.shop/cx/v1")`` for ``"https://api.shop/cx"``: the protocol and analytics.js's apiHost (host,
    base path and ``/v1``, without the scheme)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) origin: {origin!r}")
    return parts.scheme, f"{parts.netloc}{parts.path.rstrip('/')}{TRACKING_PATH}"


def cdn_settings(write_key: str, origin: str) -> CdnSettings:
    """The settings for ``write_key``: one integration, Segment.io, posting to ``origin``; no device-mode bundles,
    middleware or plugins to fetch, and no telemetry."""
    protocol, api_host = api_target(origin)
    return CdnSettings(
        integrations={"Segment.io": SegmentIoSettings(apiKey=write_key, apiHost=api_host, protocol=protocol)}
    )
