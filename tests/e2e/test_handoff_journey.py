"""The handoff journey through the local runtime, every touchpoint through capture's real front doors: a Segment
SDK's track and identify calls, a signed Instagram webhook (Meta ``X-Hub-Signature-256``) and a signed Twilio
voice webhook (``X-Twilio-Signature``). Everything runs: capture -> bus -> profiles / carts / handoff.

1. Implicit handoff: an Instagram DM about an order, then a phone call from the number on the profile: the agent
   answering looks the caller up by number and sees the DM, the cart and the open case, no code.
2. Explicit handoff: a WhatsApp agent hands the customer to a store; the clerk redeems the code once and gets the
   snapshot; a second redemption is 410; guessing codes is 429; ``handoff.accepted`` is on the bus once.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from handoff.models.api import ContextOut
from local_runtime.runtime import LocalRuntime
from tests import webhook_samples as samples
from tests.e2e.test_cart_journey import TEMPLATE, WRITE_KEY_AUTH, settle, sign_in, track

CUSTOMER = "cus_ayse_2002"
DEVICE = "77aa01c4-2e5b-4f1a-9c3d-8b6e0f2a4d17"  # the app's anonymousId: a UUIDv4
IGSID = "17841400000000042"
PHONE = "+905321112299"
WA_ID = "905321112299"
BUSINESS_IG = "17841400000000000"
DM_TEXT = "Merhaba, 1042 numaralı siparişim nerede?"


def instagram_dm(rt: LocalRuntime, text: str) -> None:
    now_ms = int(time.time() * 1000)
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": BUSINESS_IG,
                "time": now_ms,
                "messaging": [
                    {
                        "sender": {"id": IGSID},
                        "recipient": {"id": BUSINESS_IG},
                        "timestamp": now_ms,
                        "message": {"mid": f"aWdf{uuid.uuid4().hex}", "text": text},
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": samples.meta_signature(body)}
    status, _, answer = rt.request("POST", "/webhooks/instagram", headers=headers, body=body)
    assert status == 200, answer


def twilio_call(rt: LocalRuntime, caller: str) -> None:
    params = {**samples.twilio_voice_params(), "CallSid": f"CA{uuid.uuid4().hex}", "From": caller, "Caller": caller}
    # Twilio signs the URL it called; behind a tunnel to the local runtime (which serves only a loopback Host) that
    # is the loopback origin, with the tunnel's https.
    url = "https://127.0.0.1:3000/webhooks/twilio/voice"
    signature = RequestValidator(samples.twilio_auth_token()).compute_signature(url, params)
    headers = {
        "Host": "127.0.0.1:3000",
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    status, _, answer = rt.request("POST", "/webhooks/twilio/voice", headers=headers, body=urlencode(params))
    assert status == 200, answer


def link_channels(rt: LocalRuntime) -> None:
    """The customer gives their phone and WhatsApp in the app, which also knows their Instagram account."""
    body = {
        "type": "identify",
        "userId": CUSTOMER,
        "anonymousId": DEVICE,
        "traits": {"phone": PHONE, "whatsapp": WA_ID, "first_name": "Ayşe"},
        "context": {"externalIds": [{"type": "instagram", "id": IGSID, "collection": "users", "encoding": "none"}]},
        "messageId": f"msg-{uuid.uuid4()}",
    }
    status, _, answer = rt.request("POST", "/v1/identify", headers=WRITE_KEY_AUTH, body=body)
    assert status == 200, answer


def handoff_events(rt: LocalRuntime, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in rt.bus_log() if e.get("source") == "omnichannel.handoff" and e["detail-type"] == detail_type]


def test_instagram_dm_then_a_call_then_a_store_handoff() -> None:
    with LocalRuntime.start(TEMPLATE, mode="inprocess") as rt:
        agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-7")}
        # Given a customer with a coat in the cart whose profile knows their Instagram account and phone
        track(
            rt,
            DEVICE,
            "Product Added",
            {"product_id": "P-COAT", "name": "Kaban", "price": 1299.9, "quantity": 1, "currency": "TRY"},
            context="analytics-ios",
        )
        sign_in(rt, CUSTOMER, DEVICE)  # identify, and the device's cart joins the customer's
        link_channels(rt)
        settle(rt)
        # When they write on Instagram about their order, then call from that phone (both signed webhooks)
        instagram_dm(rt, DM_TEXT)
        settle(rt)
        twilio_call(rt, PHONE)
        settle(rt)
        # Then the phone agent, looking up the caller's number, sees the DM, the cart and the open case: no code
        answer = rt.request("GET", "/handoff/context", query={"phone": PHONE}, headers=agent)
        assert answer.status == 200, answer.body
        context = answer.json()
        ContextOut.model_validate(context)  # as documented, conversations and all
        by_channel = {c["channel"]: c for c in context["conversations"]}
        assert by_channel["instagram"]["last_message"]["text"] == DM_TEXT
        assert by_channel["instagram"]["state"] == "open"
        assert context["matched"]["conversation"]["conversation_id"] == by_channel["instagram"]["conversation_id"]
        call = by_channel["phone"]
        assert (call["state"], call["handed_off_from"]) == ("open", "instagram")
        assert call["linked_conversation_id"] == by_channel["instagram"]["conversation_id"]
        assert context["open_conversations"] == 2
        assert [line["product_id"] for line in context["cart"]["lines"]] == ["P-COAT"]
        timeline = [(e["channel"], e.get("name")) for e in context["timeline"]["events"]]
        assert ("instagram", "Message Received") in timeline
        assert ("phone", "Call Started") in timeline
        profile_id = context["profile"]["profile_id"]
        # And the same context by profile id; a customer token may not read it
        by_profile = rt.request("GET", f"/handoff/customers/{profile_id}/context", headers=agent).json()
        assert by_profile["conversations"] == context["conversations"]
        customer = {"Authorization": "Bearer " + rt.token("customer", sub=CUSTOMER)}
        assert rt.request("GET", "/handoff/context", query={"phone": PHONE}, headers=customer).status == 403

        # When a WhatsApp agent hands the customer to the store
        created = rt.request(
            "POST",
            "/handoff/tickets",
            headers={"Authorization": "Bearer " + rt.token("agent", sub="wa-agent-3")},
            body={
                "profile_id": profile_id,
                "from_channel": "whatsapp",
                "to_channel": "store",
                "reason": "wants to try the coat on",
                "note": "size 42, Kadıköy",
            },
        )
        assert created.status == 201, created.body
        code = created.json()["code"]
        # Then the clerk typing the code (loosely) gets the snapshot: the customer, the cart, the cases
        clerk = {"Authorization": "Bearer " + rt.token("agent", sub="clerk-kadikoy-1")}
        redeemed = rt.request(
            "POST",
            f"/handoff/tickets/{code.lower().replace('-', ' ')}/redeem",
            headers=clerk,
            body={"channel": "store", "store_id": "ist-kadikoy-01"},
        )
        assert redeemed.status == 200, redeemed.body
        snapshot = redeemed.json()
        assert snapshot["ticket"]["state"] == "redeemed"
        assert snapshot["ticket"]["note"] == "size 42, Kadıköy"
        assert snapshot["context"]["profile"]["profile_id"] == profile_id
        assert [line["product_id"] for line in snapshot["context"]["cart"]["lines"]] == ["P-COAT"]
        assert snapshot["context"]["last_handoff"]["code"] == code
        # And a second redemption is 410
        again = rt.request("POST", f"/handoff/tickets/{code}/redeem", headers=clerk, body={"channel": "store"})
        assert (again.status, again.json()["code"]) == (410, "ticket_used")
        # And someone guessing codes is stopped
        guesser = {"Authorization": "Bearer " + rt.token("agent", sub="guesser-9")}
        tries = [
            rt.request("POST", f"/handoff/tickets/{n:04d}-ZZZZ/redeem", headers=guesser, body={"channel": "phone"})
            for n in range(11)
        ]
        assert [t.status for t in tries] == [404] * 10 + [429]
        assert int(tries[-1].headers["retry-after"]) > 0
        # And the bus carried handoff.created and handoff.accepted once each
        settle(rt)
        accepted = handoff_events(rt, "handoff.accepted")
        assert len(accepted) == 1
        assert accepted[0]["detail"]["code"] == code.replace("-", "")
        assert (accepted[0]["detail"]["redeemed_by"], accepted[0]["detail"]["store_id"]) == (
            "clerk-kadikoy-1",
            "ist-kadikoy-01",
        )
        assert len(handoff_events(rt, "handoff.created")) == 1
