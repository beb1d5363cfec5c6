"""Serves the console's static files (index.html, ES modules, CSS, vendored code) from this function's package.

No authorizer: the files hold no data; every API call the console makes carries the agent's bearer token. Only
files below ``console/`` with a known static suffix are served (never this Python package, never dot files), with
UTF-8 content types and a short cache; anything else is 404, and a write 405, in the one error body of every API
(``omnichannel.http_api``; imported only then, so serving a file never pays for it).

``/console/sign-in.json`` says where the stack's managed login is (``MANAGED_LOGIN_URL``, ``STAFF_CLIENT_ID``;
empty when ConsoleCallbackUrls is not set): the console then signs staff in with the code flow and PKCE, and the
Content-Security-Policy lets it post the code to that origin's token endpoint, and nowhere else.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
}
HIDDEN = ("console_site", "requirements.txt")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    # Same origin only: the API is on this origin, nothing is fetched from elsewhere.
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def resolve(proxy: str | None) -> Path | None:
    """The file a request path names, or None when it is not a servable static file."""
    if proxy is not None and (proxy.endswith("/") or "//" in proxy):
        return None
    relative = PurePosixPath(proxy or "index.html")
    parts = relative.parts
    if not parts or relative.is_absolute() or any(part in ("..", "") or part.startswith(".") for part in parts):
        return None
    if parts[0] in HIDDEN or "__pycache__" in parts or relative.suffix not in CONTENT_TYPES:
        return None
    path = (ROOT / relative).resolve()
    if not path.is_relative_to(ROOT) or not path.is_file():
        return None
    return path


SIGN_IN_CONFIG = "sign-in.json"


def sign_in_config() -> dict[str, str]:
    """Where managed login is and the console's client id, or {} when the stack has no managed login for it."""
    url = os.environ.get("MANAGED_LOGIN_URL", "").strip().rstrip("/")
    client_id = os.environ.get("STAFF_CLIENT_ID", "").strip()
    if not url or not client_id or urlsplit(url).scheme not in ("https", "http"):
        return {}
    return {"managedLogin": url, "clientId": client_id}


def security_headers() -> dict[str, str]:
    """The policy allows this origin, plus the token endpoint's origin when managed login is on."""
    config = sign_in_config()
    if not config:
        return SECURITY_HEADERS
    parts = urlsplit(config["managedLogin"])
    policy = SECURITY_HEADERS["content-security-policy"].replace(
        "connect-src 'self'", f"connect-src 'self' {parts.scheme}://{parts.netloc}"
    )
    return {**SECURITY_HEADERS, "content-security-policy": policy}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    if method not in ("GET", "HEAD"):
        return _error(405, "method_not_allowed", "the console's files are read with GET", {"Allow": "GET, HEAD"})
    proxy = (event.get("pathParameters") or {}).get("proxy")
    if proxy == SIGN_IN_CONFIG:
        headers = {"content-type": CONTENT_TYPES[".json"], "cache-control": "no-cache", **security_headers()}
        return {"statusCode": 200, "headers": headers, "body": json.dumps(sign_in_config())}
    path = resolve(proxy)
    if path is None:
        return _error(404, "not_found", "no such file in the console", {"Cache-Control": "no-cache"})
    content_type = CONTENT_TYPES[path.suffix]
    data = path.read_bytes()
    headers = {
        "content-type": content_type,
        "cache-control": "no-cache" if path.suffix == ".html" else "public, max-age=300",
        **security_headers(),
    }
    if content_type.endswith("charset=utf-8"):
        return {"statusCode": 200, "headers": headers, "body": data.decode("utf-8")}
    return {"statusCode": 200, "headers": headers, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}


def _error(status: int, code: str, message: str, headers: dict[str, str]) -> dict[str, Any]:
    from omnichannel.http_api import ApiError, error_payload

    answer = error_payload(ApiError(status, code, message, headers={**headers, **SECURITY_HEADERS}))
    return answer
