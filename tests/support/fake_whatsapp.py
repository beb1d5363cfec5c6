"""A local stand-in for Meta's WhatsApp Cloud API messages endpoint (``POST /<phone_number_id>/messages``).

It checks the bearer token, records every request (path, headers, JSON body) and answers as the Cloud API does
(``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}``). ``fail_next(n,
status)`` makes the next ``n`` requests fail with ``status`` (e.g. 503) to exercise retries.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    authorization: str
    body: dict[str, Any]
    status: int
    message_id: str | None = None


@dataclass
class FakeWhatsApp:
    token: str
    phone_number_id: str
    requests: list[Recorded] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    @property
    def delivered(self) -> list[Recorded]:
        """The requests the fake accepted (what a customer would have received)."""
        return [request for request in self.requests if request.status == 200]

    def _answer(self, path: str, authorization: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer: dict[str, Any]
        with self._lock:
            if authorization != f"Bearer {self.token}":
                status, answer = 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}
            elif path != f"/{self.phone_number_id}/messages":
                status, answer = 404, {"error": {"message": "Unknown path", "code": 100}}
            elif self._failures:
                status, answer = self._failures.pop(0), {"error": {"message": "Service unavailable", "code": 2}}
            elif body.get("messaging_product") != "whatsapp" or not body.get("to"):
                status, answer = 400, {"error": {"message": "(#100) Invalid parameter", "code": 100}}
            else:
                wamid = f"wamid.{uuid.uuid4().hex}"
                status = 200
                answer = {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": str(body["to"]).lstrip("+")}],
                    "messages": [{"id": wamid}],
                }
            message_id = str(answer["messages"][0]["id"]) if status == 200 else None
            self.requests.append(Recorded(path, authorization, body, status, message_id))
            return status, answer


def _handler(fake: FakeWhatsApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            status, answer = fake._answer(self.path, self.headers.get("Authorization") or "", body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


DEV_TOKEN = "dev-whatsapp-token"  # local_runtime/dev-config.json, HandoffOutboundSecrets
DEV_PHONE_NUMBER_ID = "100000000000001"


@contextmanager
def fake_whatsapp(token: str = DEV_TOKEN, phone_number_id: str = DEV_PHONE_NUMBER_ID) -> Iterator[FakeWhatsApp]:
    fake = FakeWhatsApp(token=token, phone_number_id=phone_number_id)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
