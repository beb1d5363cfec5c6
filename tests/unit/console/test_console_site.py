"""The console's static file function: what it serves, with which content type, and what it never serves."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from console_site.handlers.site import ROOT, lambda_handler, resolve


def _get(proxy: str | None, method: str = "GET") -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"http": {"method": method}}}
    if proxy is not None:
        event["pathParameters"] = {"proxy": proxy}
    return lambda_handler(event, None)


def test_the_bare_console_path_is_the_page() -> None:
    # When /console is asked for (no proxy path)
    answer = _get(None)

    # Then it is index.html as UTF-8 HTML, never cached stale, with a same-origin-only content security policy
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == "text/html; charset=utf-8"
    assert answer["headers"]["cache-control"] == "no-cache"
    assert "default-src 'self'" in answer["headers"]["content-security-policy"]
    assert answer["body"] == (ROOT / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("proxy", "content_type"),
    [
        ("app/main.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("vendor/qrcode-generator-1.4.4/qrcode.js", "text/javascript; charset=utf-8"),
    ],
)
def test_static_files_are_served_with_their_type(proxy: str, content_type: str) -> None:
    answer = _get(proxy)
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == content_type
    assert answer["body"] == (ROOT / proxy).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "proxy",
    [
        "console_site/handlers/site.py",  # the function's own code
        "requirements.txt",
        "../template.yaml",  # out of the folder
        "app/../../template.yaml",
        "/etc/passwd",
        ".hidden.js",
        "app/missing.js",
        "app",  # a folder
        "app/main.js/",
    ],
)
def test_nothing_else_is_served(proxy: str) -> None:
    assert resolve(proxy) is None
    answer = _get(proxy)
    # in the one error body every API answers
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == {
        "success": False,
        "code": "not_found",
        "message": "no such file in the console",
        "errors": [],
    }


def test_only_reads_are_answered() -> None:
    answer = _get("app/main.js", method="POST")
    assert answer["statusCode"] == 405
    assert answer["headers"]["Allow"] == "GET, HEAD"
    assert json.loads(answer["body"])["code"] == "method_not_allowed"


def test_a_binary_file_goes_base64(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a PNG among the static files
    import console_site.handlers.site as handler

    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    monkeypatch.setattr(handler, "ROOT", tmp_path)

    # Then it is answered base64-encoded, as API Gateway expects binary bodies
    answer = _get("logo.png")
    assert answer["isBase64Encoded"] is True
    assert base64.b64decode(answer["body"]) == b"\x89PNG\r\n\x1a\n\x00\xff"


# ---------------------------------------------------------------- managed login (sign-in.json)
def test_without_managed_login_the_console_is_told_nothing_and_may_call_only_its_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MANAGED_LOGIN_URL", "")
    monkeypatch.setenv("STAFF_CLIENT_ID", "client-1")
    answer = _get("sign-in.json")
    assert (answer["statusCode"], answer["body"]) == (200, "{}")
    assert "connect-src 'self';" in _get(None)["headers"]["content-security-policy"]


def test_with_managed_login_the_console_learns_where_and_may_post_the_code_there_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stack with ConsoleCallbackUrls set (the template then fills MANAGED_LOGIN_URL)
    monkeypatch.setenv("MANAGED_LOGIN_URL", "https://cx-1234.auth.eu-west-1.amazoncognito.com/")
    monkeypatch.setenv("STAFF_CLIENT_ID", "5h1ghpqcl0abc")
    answer = _get("sign-in.json")
    assert answer["headers"]["content-type"] == "application/json; charset=utf-8"
    assert answer["headers"]["cache-control"] == "no-cache"
    assert answer["body"] == (
        '{"managedLogin": "https://cx-1234.auth.eu-west-1.amazoncognito.com", "clientId": "5h1ghpqcl0abc"}'
    )
    # Then the page's policy adds that origin to connect-src (the token endpoint) and nothing else
    policy = _get(None)["headers"]["content-security-policy"]
    assert "connect-src 'self' https://cx-1234.auth.eu-west-1.amazoncognito.com;" in policy
    assert "script-src 'self';" in policy
