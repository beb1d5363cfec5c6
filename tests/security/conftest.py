"""The product as an attacker meets it: the local runtime serving template.yaml on an ephemeral port, AWS in
moto, and the people of the scenarios with only what each really holds.

- ``attacker``: the public (client) write key every web page ships, and a customer token of their own (self
  sign-up is open); nothing else.
- ``customer(sub)``: a real customer's access token, and their ID token with verified e-mail / phone claims.
- ``store`` / ``whatsapp``: the verified sources, signing their webhooks as the POS and Meta do.
- ``agent`` / ``admin``: staff access tokens.

Every name in a test is unique to it (``tag``), so the tests share one runtime per module and stay independent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CLIENT_KEY = "dev-web-key"  # what every web page ships: public
SERVER_KEY = "dev-server-key"  # a back-office system's, kept on a server
META_SECRET = "dev-meta-app-secret"
POS_SECRET = "dev-pos-secret"
_numbers = itertools.count(1)


def basic(write_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def tag() -> str:
    """A short unique tag: every identifier of a test carries one."""
    return f"{uuid.uuid4().hex[:8]}{next(_numbers)}"


def device() -> str:
    """A device's anonymous id as the SDKs make them (a UUIDv4)."""
    return str(uuid.uuid4())


def phone_number() -> str:
    """A valid Turkish mobile number nobody else in the run has."""
    return f"+90532{uuid.uuid4().int % 10_000_000:07d}"


@dataclass
class Shop:
    rt: LocalRuntime

    # ------------------------------------------------------------------ settling
    def settle(self, rounds: int = 4) -> None:
        """capture -> bus -> profiles -> profiles' stream -> bus -> carts / kpis / handoff: every hop delivered."""
        for _ in range(rounds):
            self.rt.drain()

    # ------------------------------------------------------------------ the tracking API
    def send(self, path: str, message: dict[str, Any], *, key: str = CLIENT_KEY, expect: int = 200) -> HttpResponse:
        body = {"messageId": f"m-{uuid.uuid4()}", **message}
        answer = self.rt.request("POST", path, headers=basic(key), body=body)
        assert answer.status == expect, answer.body
        return answer

    def identify(self, *, key: str = CLIENT_KEY, expect: int = 200, **message: Any) -> HttpResponse:
        return self.send("/v1/identify", {"type": "identify", **message}, key=key, expect=expect)

    def track(self, event: str, *, key: str = CLIENT_KEY, expect: int = 200, **message: Any) -> HttpResponse:
        return self.send("/v1/track", {"type": "track", "event": event, **message}, key=key, expect=expect)

    def alias(self, *, key: str = CLIENT_KEY, expect: int = 200, **message: Any) -> HttpResponse:
        return self.send("/v1/alias", {"type": "alias", **message}, key=key, expect=expect)

    def group(self, *, key: str = CLIENT_KEY, expect: int = 200, **message: Any) -> HttpResponse:
        return self.send("/v1/group", {"type": "group", **message}, key=key, expect=expect)

    # ------------------------------------------------------------------ verified sources
    def pos(self, store_id: str, payload: dict[str, Any], *, expect: int = 200, at: int | None = None) -> bytes:
        """A store's sale, return or visit, signed as the POS signs it; returns the body (to replay it)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.pos_raw(store_id, body, at=at, expect=expect)
        return body

    def pos_raw(
        self, store_id: str, body: bytes, *, at: int | None = None, expect: int = 200, signed_for: str | None = None
    ) -> HttpResponse:
        """``body`` posted to ``store_id``'s path, signed for ``signed_for`` (that store, unless replayed elsewhere)."""
        timestamp = str(at or int(time.time()))
        signed = f"{timestamp}.{signed_for or store_id}.".encode() + body
        signature = hmac.new(POS_SECRET.encode(), signed, hashlib.sha256)
        answer = self.rt.request(
            "POST",
            f"/webhooks/pos/{store_id}",
            headers={
                "Content-Type": "application/json",
                "X-Pos-Timestamp": timestamp,
                "X-Pos-Signature": "sha256=" + signature.hexdigest(),
            },
            body=body,
        )
        assert answer.status == expect, answer.body
        return answer

    def sale(
        self,
        store_id: str,
        transaction: str,
        customer: dict[str, str],
        items: list[tuple[str, str]],
        *,
        expect: int = 200,
    ) -> bytes:
        payload = {
            "type": "sale",
            "transaction_id": transaction,
            "occurred_at": datetime.now(UTC).isoformat(),
            "customer": customer,
            "currency": "TRY",
            "total": str(sum(float(price) for _, price in items)),
            "items": [{"sku": sku, "name": sku, "quantity": 1, "price": price} for sku, price in items],
        }
        return self.pos(store_id, payload, expect=expect)

    def whatsapp(self, wa_id: str, text: str, message_id: str | None = None, *, expect: int = 200) -> bytes:
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "908501234567", "phone_number_id": "1065403"},
                                "contacts": [{"profile": {"name": "Müşteri"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": message_id or f"wamid.{uuid.uuid4().hex}",
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        self.whatsapp_raw(body, expect=expect)
        return body

    def whatsapp_raw(self, body: bytes, *, expect: int = 200) -> HttpResponse:
        signature = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
        answer = self.rt.request(
            "POST",
            "/webhooks/whatsapp",
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            body=body,
        )
        assert answer.status == expect, answer.body
        return answer

    # ------------------------------------------------------------------ tokens
    def bearer(self, role: str, sub: str, **options: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.rt.token(role, sub=sub, **options)}

    def customer(self, sub: str) -> dict[str, str]:
        return self.bearer("customer", sub)

    def id_token(self, sub: str, *, email: str | None = None, phone: str | None = None) -> dict[str, str]:
        claims: dict[str, Any] = {}
        if email:
            claims.update(email=email, email_verified=True)
        if phone:
            claims.update(phone_number=phone, phone_number_verified=True)
        return self.bearer("customer", sub, id_token=True, claims=claims)

    @property
    def agent(self) -> dict[str, str]:
        return self.bearer("agent", "agent-sec")

    @property
    def admin(self) -> dict[str, str]:
        return self.bearer("admin", "dpo-sec")

    # ------------------------------------------------------------------ reads
    def get(self, path: str, headers: dict[str, str], **query: str) -> HttpResponse:
        return self.rt.request("GET", path, headers=headers, query=query or None)

    def prove(self, sub: str, *, email: str | None = None, phone: str | None = None) -> HttpResponse:
        """The customer's app sends their ID token: its verified e-mail / phone join their account."""
        return self.rt.request(
            "POST", "/profiles/me/verified-identifiers", headers=self.id_token(sub, email=email, phone=phone)
        )

    def profile_by(self, kind: str, value: str) -> dict[str, Any] | None:
        answer = self.get("/profiles", self.agent, identifier=f"{kind}:{value}")
        return answer.json() if answer.status == 200 else None

    def my_profile(self, sub: str) -> dict[str, Any]:
        answer = self.get("/profiles/me", self.customer(sub))
        assert answer.status == 200, answer.body
        return dict(answer.json())

    def my_timeline(self, sub: str) -> list[dict[str, Any]]:
        profile_id = self.my_profile(sub)["profile_id"]
        answer = self.get(f"/profiles/{profile_id}/timeline", self.customer(sub), limit="200")
        assert answer.status == 200, answer.body
        return list(answer.json()["events"])

    def staff_timeline(self, profile_id: str) -> list[dict[str, Any]]:
        answer = self.get(f"/profiles/{profile_id}/timeline", self.agent, limit="200")
        assert answer.status == 200, answer.body
        return list(answer.json()["events"])

    def my_cart(self, sub: str) -> HttpResponse:
        return self.get("/carts/me", self.customer(sub))

    def device_cart(self, anonymous_id: str) -> HttpResponse:
        return self.get("/carts/anonymous", {"X-Anonymous-Id": anonymous_id})

    def sign_in_cart(self, sub: str, anonymous_id: str) -> HttpResponse:
        return self.rt.request(
            "POST", "/carts/me/merge", headers={**self.customer(sub), "X-Anonymous-Id": anonymous_id}
        )


def text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def lines(answer: HttpResponse) -> dict[str, int]:
    return {line["product_id"]: line["quantity"] for line in answer.json()["lines"]}


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield Shop(rt)
