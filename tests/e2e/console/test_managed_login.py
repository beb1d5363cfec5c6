"""The console's managed-login sign-in (AWS, ConsoleCallbackUrls set) in headless chromium: the code flow with
PKCE against a stand-in for Cognito's managed login that checks what Cognito checks (client, redirect URI, state,
the S256 challenge against the verifier), then sign-out through its /logout."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from local_runtime.runtime import LocalRuntime
from tests.support.console_browser import TEMPLATE, wait

CLIENT_ID = "staff-console-client"


@dataclass
class ManagedLogin:
    """A stand-in for <prefix>.auth.<region>.amazoncognito.com: /oauth2/authorize, /oauth2/token, /logout."""

    console: str
    issue_token: Any
    url: str = ""
    challenges: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (challenge, redirect_uri)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield rt


@pytest.fixture
def managed_login(runtime: LocalRuntime) -> Iterator[ManagedLogin]:
    login = ManagedLogin(console=runtime.base_url, issue_token=lambda: runtime.token("agent", sub="cognito-ayse"))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            login.seen.append((f"GET {parts.path}", query))
            if parts.path == "/oauth2/authorize":
                assert query["client_id"] == CLIENT_ID
                assert query["response_type"] == "code"
                assert query["code_challenge_method"] == "S256"
                assert query["redirect_uri"] == f"{login.console}/console"
                code = secrets.token_urlsafe(16)
                login.challenges[code] = (query["code_challenge"], query["redirect_uri"])
                target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self._answer(302, headers={"Location": target})
            elif parts.path == "/logout":
                assert query == {"client_id": CLIENT_ID, "logout_uri": f"{login.console}/console"}
                self._answer(302, headers={"Location": query["logout_uri"]})
            else:
                self._answer(404)

        def do_POST(self) -> None:
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
            login.seen.append(("POST /oauth2/token", form))
            challenge, redirect_uri = login.challenges.pop(form.get("code", ""), ("", ""))
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            ok = (
                self.path == "/oauth2/token"
                and form.get("grant_type") == "authorization_code"
                and form.get("client_id") == CLIENT_ID
                and form.get("redirect_uri") == redirect_uri
                and base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge != ""
            )
            body = (
                {"access_token": login.issue_token(), "token_type": "Bearer", "expires_in": 3600}
                if ok
                else {"error": "invalid_grant"}
            )
            cors = {"Access-Control-Allow-Origin": login.console, "Content-Type": "application/json"}
            self._answer(200 if ok else 400, json.dumps(body).encode(), cors)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    login.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    # The stack with ConsoleCallbackUrls set: the template gives ConsoleFunction these two variables
    environment = runtime.functions["ConsoleFunction"].environment
    assert isinstance(environment, dict)
    environment |= {"MANAGED_LOGIN_URL": login.url, "STAFF_CLIENT_ID": CLIENT_ID}
    try:
        yield login
    finally:
        server.shutdown()
        server.server_close()


def test_staff_sign_in_with_managed_login_and_pkce_then_sign_out(
    runtime: LocalRuntime, managed_login: ManagedLogin, browser: WebDriver
) -> None:
    # Given the console of a stack with managed login
    browser.get(f"{runtime.base_url}/console")
    button = wait(browser).until(lambda d: d.find_element(By.ID, "managed-signin"))
    wait(browser).until(lambda d: button.is_displayed())
    # When the agent presses "Sign in" (and signs in on the managed login pages)
    button.click()
    # Then the console comes back signed in as that agent, the code gone from the address bar
    wait(browser).until(lambda d: d.find_element(By.ID, "search-query"))
    assert "cognito-ayse (agent)" in browser.find_element(By.ID, "who").text
    assert urlsplit(browser.current_url).query == ""
    steps = [step for step, _ in managed_login.seen]
    assert steps == ["GET /oauth2/authorize", "POST /oauth2/token"]
    authorize, exchange = (values for _, values in managed_login.seen)
    assert authorize["scope"] == "openid email profile"  # never the omnichannel/* staff scopes
    assert len(exchange["code_verifier"]) >= 43  # RFC 7636: 43 to 128 characters
    assert managed_login.challenges == {}  # the code was used, once

    # When they sign out
    browser.find_element(By.ID, "signout").click()
    # Then managed login ends its session too and the console is back at its sign-in
    wait(browser).until(lambda d: d.find_element(By.ID, "managed-signin").is_displayed())
    assert [step for step, _ in managed_login.seen][-1] == "GET /logout"
    assert browser.execute_script("return sessionStorage.getItem('omnichannel.console.token')") is None


def test_a_return_that_did_not_start_here_is_refused(
    runtime: LocalRuntime, managed_login: ManagedLogin, browser: WebDriver
) -> None:
    # Given a crafted link back to the console with a code and a state this browser never sent
    browser.get(f"{runtime.base_url}/console?code=stolen&state=forged")
    # Then no token is fetched, the console says so and stays signed out
    status = wait(browser).until(lambda d: d.find_element(By.ID, "signin-status"))
    wait(browser).until(lambda d: status.text)
    assert status.text == "Sign-in did not start here; try again."
    assert [step for step, _ in managed_login.seen] == []
    assert "code=" not in browser.current_url
