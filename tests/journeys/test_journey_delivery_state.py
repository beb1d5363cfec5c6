"""A journey's messages show how they really ended, through the whole product in the local runtime: the journey
asks (message.requested), outbound sends through a fake WhatsApp Cloud API and its table's stream announces the
end (message.sent / message.failed), and the journeys record it on the message: a delivered question shows
``sent`` in ``GET /journeys/customers/{id}``, one the provider refuses for good shows ``failed`` with its code, and
the journey's funnel counts what was delivered beside what was requested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.journeys.harness import JourneyHarness
from tests.support.fake_whatsapp import FakeWhatsApp, fake_whatsapp


@pytest.fixture
def world() -> Iterator[tuple[JourneyHarness, FakeWhatsApp]]:
    with (
        fake_whatsapp() as whatsapp,
        JourneyHarness.start(parameters={"WhatsAppApiBaseUrl": whatsapp.url}) as journeys,
    ):
        yield journeys, whatsapp


def test_a_delivered_message_shows_sent_and_a_refused_one_failed(world: tuple[JourneyHarness, FakeWhatsApp]) -> None:
    journeys, whatsapp = world
    # Given two customers who visited a store (the post-visit NPS question goes out on WhatsApp the next day)
    ayse = journeys.customer("ayse", whatsapp="905321110041", consent={"whatsapp": True})
    mehmet = journeys.customer("mehmet", whatsapp="905321110042", consent={"whatsapp": True})
    journeys.track(ayse, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})

    # When Ayşe's question goes out, and then WhatsApp refuses Mehmet's for good (400)
    journeys.advance(days=1)
    whatsapp.fail_next(1, status=400)
    journeys.track(mehmet, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)

    # Then the provider took Ayşe's once and refused Mehmet's once
    assert [(r.body["to"], r.status) for r in whatsapp.requests] == [("905321110041", 200), ("905321110042", 400)]
    # And Ayşe's message shows sent, when and on which channel
    [hers] = journeys.journeys_of(ayse)["sent"]
    assert (hers["status"], hers["delivered_channel"], hers["delivery_error"]) == ("sent", "whatsapp", None)
    assert hers["delivered_at"] == hers["at"]  # sent at once, on the test's clock (outbound shares it)
    # And Mehmet's shows failed, with the provider's code and never his number
    [his] = journeys.journeys_of(mehmet)["sent"]
    assert (his["status"], his["delivered_channel"], his["delivery_error"]) == ("failed", "whatsapp", "HTTP400")
    assert his["delivered_at"] is not None
    assert "905321110042" not in str(his)
    # And the funnel counts two questions requested on WhatsApp, one delivered and one failed
    figures = journeys.funnel("post_visit_nps")
    assert figures["sent"] == {"whatsapp": 2}
    assert figures["delivery"] == {"sent": {"whatsapp": 1}, "failed": {"whatsapp": 1}, "cancelled": {}}

    # And when the stream's records are published again (a retried batch), nothing changes
    journeys.settle()
    assert journeys.funnel("post_visit_nps")["delivery"] == figures["delivery"]
