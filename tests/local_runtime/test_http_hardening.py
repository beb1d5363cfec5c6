"""The local runtime on a developer's machine: only loopback Host headers, a valid Content-Length, JSON refusals.

A web page the developer opens could otherwise reach 127.0.0.1 through DNS rebinding (its own name resolving to
127.0.0.1): ``/_local/token`` mints admin tokens and ``/_local/bus`` lists personal data.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from local_runtime import LocalRuntime
from local_runtime.http_gateway import IDLE_TIMEOUT_SECONDS, MAX_PAYLOAD_BYTES, served_host
from tests.local_runtime.support import CONFIG, TEMPLATE


@pytest.fixture(scope="module")
def served() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, config=CONFIG, http_port=0) as rt:
        yield rt


def _raw(rt: LocalRuntime, request: bytes, *, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are on a socket; the status, headers and body of the answer."""
    host, port = rt.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", "0")):
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("host", "served_here"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:3000", True),
        ("localhost:3000", True),
        ("LOCALHOST", True),
        ("[::1]:3000", True),
        ("attacker.example:3000", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.attacker.example", False),
        ("127.0.0.1:3000@attacker.example", False),
        ("", False),
    ],
)
def test_only_loopback_host_names_are_served(host: str, served_here: bool) -> None:
    assert served_host(host) is served_here


def test_a_rebound_name_reaches_neither_the_token_route_nor_the_bus(served: LocalRuntime) -> None:
    # Given a page whose own name resolves to 127.0.0.1 (DNS rebinding) sends its requests with its Host
    for method, path in (("POST", "/_local/token"), ("GET", "/_local/bus"), ("POST", "/v1/track")):
        # When it asks for a token, the bus log or any route
        answer = served.request(method, path, headers={"Host": "rebind.attacker.example:3000"}, body={"role": "admin"})
        # Then it is refused, and gets nothing
        assert answer.status == 421
        assert "token" not in answer.json()
    # While the developer's own requests are answered
    assert served.request("POST", "/_local/token", body={"role": "agent"}).status == 200


@pytest.mark.parametrize("length", [b"-1", b"1e3", b"0x10", b"+5", b" ", b"99999999999999999999"])
def test_a_content_length_that_is_not_a_number_is_a_json_400_and_does_not_hold_the_connection(
    served: LocalRuntime, length: bytes
) -> None:
    # Given a request whose Content-Length is not a plain number of bytes
    request = b"POST /_local/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\n{}"
    # When it is sent (the client then waits, as a slow attacker would)
    status, headers, body = _raw(served, request, timeout=IDLE_TIMEOUT_SECONDS / 3)
    # Then the server answers at once, in JSON, and closes the connection
    assert status in (400, 413)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body)["message"]


def test_two_different_content_lengths_are_refused(served: LocalRuntime) -> None:
    request = b"POST /_local/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}"
    status, _, body = _raw(served, request)
    assert status == 400
    assert "Content-Length" in json.loads(body)["message"]


def test_a_body_above_api_gateways_limit_is_a_json_413_without_reading_it(served: LocalRuntime) -> None:
    # Given a request announcing 11 MB (more than API Gateway's 10 MB) and sending only a little of it
    announced = str(MAX_PAYLOAD_BYTES + 1024 * 1024).encode()
    request = b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + announced + b"\r\n\r\n" + b"x" * 1000
    # Then the answer is API Gateway's 413, as JSON (never http.server's HTML page)
    status, headers, body = _raw(served, request)
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Request Entity Too Large"}


def test_a_malformed_chunk_size_is_refused(served: LocalRuntime) -> None:
    request = b"POST /_local/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n"
    status, _, body = _raw(served, request)
    assert status == 400
    assert "chunk" in json.loads(body)["message"]


def test_the_servers_own_refusals_are_json_not_html(served: LocalRuntime) -> None:
    # Given a request line http.server itself refuses (a bad HTTP version)
    status, headers, body = _raw(served, b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n")
    assert status >= 400
    assert headers["content-type"] == "application/json"
    assert b"<html" not in body.lower()
