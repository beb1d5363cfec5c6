"""The local runtime's sink: with the development config, a journey's WhatsApp message goes to the runtime's own
``/_local/sink`` instead of failing for want of a network, and e-mails leave from a sender moto's SES has verified,
so ``make dev`` shows messages ``sent`` (what a provider would have received is listed by ``GET /_local/sink``)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.journeys.harness import JourneyHarness


@pytest.fixture
def journeys() -> Iterator[JourneyHarness]:
    with JourneyHarness.start(http_port=0) as harness:
        yield harness


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the runtime on loopback
        return json.loads(answer.read())


def test_a_journey_message_goes_to_the_sink_and_shows_sent(journeys: JourneyHarness) -> None:
    rt = journeys.rt
    # Given the development config: WhatsApp's API is the runtime's sink, the e-mail sender a verified identity
    delivery = rt.functions["OutboundDeliveryFunction"].environment
    assert delivery["WHATSAPP_API_BASE_URL"] == f"{rt.base_url}/_local/sink/whatsapp"
    assert "offers@shop.example" in rt.client("ses").list_verified_email_addresses()["VerifiedEmailAddresses"]

    # When a customer who visited a store is asked the post-visit question on WhatsApp the next day
    ayse = journeys.customer("ayse", whatsapp="905321110051", consent={"whatsapp": True})
    journeys.track(ayse, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)

    # Then the sink received it as the WhatsApp Cloud API would have, once
    [received] = _get(f"{rt.base_url}/_local/sink")
    assert received["path"] == "/whatsapp/100000000000001/messages"
    assert received["body"]["to"] == "905321110051"
    assert received["body"]["messaging_product"] == "whatsapp"
    # And the customer's 360 shows the message sent, with the sink's id nowhere near the address
    [sent] = journeys.journeys_of(ayse)["sent"]
    assert (sent["status"], sent["delivered_channel"], sent["delivery_error"]) == ("sent", "whatsapp", None)


def test_the_sink_refuses_what_is_not_json_and_keeps_no_headers(journeys: JourneyHarness) -> None:
    rt = journeys.rt
    refused = rt.request("POST", "/_local/sink/anything", body=b"not json")
    assert refused.status == 400
    kept = rt.request(
        "POST", "/_local/sink/mail/send", body=b'{"to": "x"}', headers={"Authorization": "Bearer secret-token"}
    )
    assert kept.status == 200
    assert kept.json()["messages"][0]["id"] == kept.json()["id"]
    assert rt.sink() == [{"id": kept.json()["id"], "path": "/mail/send", "body": {"to": "x"}}]
    assert "secret-token" not in json.dumps(rt.sink())
