"""The HTTP server of the local runtime: a client hanging up is not an error worth a traceback on the terminal,
and ``GET /_local/backlog`` says what is still to deliver."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from local_runtime import LocalRuntime
from tests.local_runtime.support import CONFIG, TEMPLATE


def test_a_client_that_resets_its_connection_leaves_no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    with LocalRuntime.start(TEMPLATE, config=CONFIG, mode="inprocess", http_port=0) as runtime:
        host, port = runtime.base_url.removeprefix("http://").split(":")
        # Given a client that sent half a request (no blank line after the headers yet)
        client = socket.create_connection((host, int(port)))
        client.sendall(b"GET /items/1 HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        # When it resets the connection (closing with SO_LINGER 0 sends RST), as a client that gave up does
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(0.5)
        # Then the runtime still serves, and printed no traceback
        assert runtime.request("GET", "/items/2").status == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "ConnectionResetError" not in captured.err + captured.out


def test_backlog_lists_the_deliveries_still_waiting_by_trigger() -> None:
    with LocalRuntime.start(TEMPLATE, config=CONFIG, mode="inprocess", http_port=0) as runtime:
        assert runtime.request("GET", "/_local/backlog").json() == {"waiting": {}}
        # Given two events on the bus that the fixture's rules route to their functions, not delivered yet
        runtime.put_event("Order Completed", {"event_id": "b-1"}, source="fixture.shop")
        runtime.put_event("Order Completed", {"event_id": "b-2"}, source="fixture.shop")
        waiting = runtime.request("GET", "/_local/backlog").json()["waiting"]
        # Then the backlog names each trigger with its count
        assert waiting
        assert all(count == 2 for count in waiting.values())
        # When they are delivered, the backlog is empty again
        runtime.drain()
        assert runtime.request("GET", "/_local/backlog").json() == {"waiting": {}}
