"""WhatsApp through Meta's Cloud API: ``POST {base_url}/{phone_number_id}/messages`` with a bearer token.

The base URL is configurable (``WHATSAPP_API_BASE_URL``, e.g. ``https://graph.facebook.com/v21.0``; a local
fake in the tests). 408, 429 and 5xx answers and requests that got no answer are transient; other 4xx answers
(a bad token, an unknown number, a template Meta refused) are permanent. The standard library's urllib is
enough for one JSON POST and keeps the function free of an HTTP client dependency.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from outbound.delivery.message import OutboundMessage, SendError
from outbound.delivery.templates import Rendered

TRANSIENT_STATUSES = frozenset({408, 429})


class WhatsAppSender:
    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], tuple[str, str]],
        *,
        mode: str = "template",
        language: str = "tr",
        timeout: float = 5.0,
    ) -> None:
        """``credentials()`` answers ``(access_token, phone_number_id)`` (read from the secret when needed)."""
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._mode = mode
        self._language = language
        self._timeout = timeout

    def payload(self, message: OutboundMessage, rendered: Rendered) -> dict[str, Any]:
        to = message.to.lstrip("+")
        if self._mode == "text":
            return {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": False, "body": rendered.text},
            }
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": message.template,
                "language": {"code": self._language},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": value} for value in rendered.parameters]}
                ],
            },
        }

    def send(self, message: OutboundMessage, rendered: Rendered) -> str:
        if not self._base_url.startswith(("https://", "http://")):
            raise SendError("whatsapp: WHATSAPP_API_BASE_URL is not an http(s) URL", transient=False, code="Config")
        token, phone_number_id = self._credentials()
        if not token or not phone_number_id:
            raise SendError("whatsapp: no access token or phone number id", transient=False, code="NoCredentials")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            f"{self._base_url}/{phone_number_id}/messages",
            data=json.dumps(self.payload(message, rendered)).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            status = error.code
            transient = status >= 500 or status in TRANSIENT_STATUSES
            raise SendError(f"whatsapp: HTTP {status}", transient=transient, code=f"HTTP{status}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise SendError(f"whatsapp: {type(error).__name__}", transient=True, code="Unreachable") from error
        except json.JSONDecodeError as error:
            # Accepted but unreadable: it may have gone out, and sending again could send twice.
            raise SendError("whatsapp: the answer is not JSON", transient=False, code="BadAnswer") from error
        messages = body.get("messages") if isinstance(body, dict) else None
        if not messages or not isinstance(messages[0], dict) or "id" not in messages[0]:
            raise SendError("whatsapp: the answer names no message id", transient=False, code="BadAnswer")
        return str(messages[0]["id"])
