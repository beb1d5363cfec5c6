"""The Segment tracking API end to end through ``capture.handlers.api.lambda_handler``, driven by the sample events in
events/tracking/ (the same files ``sam local invoke -e`` takes). The store is the in-memory one of tests/fakes.py;
what its stream carries goes to an in-memory bus, as the stream publisher does on AWS. The bus samples in
events/bus/ are checked against what capture really publishes."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from capture import wiring
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType, event_id_for
from omnichannel.event_bus import BusEvent
from omnichannel.identifiers import IdentifierType
from tests import tracking_samples as samples
from tests.fakes import InMemoryEventStore
from tests.support.capture_harness import CaptureHarness, wired_capture
from tests.webhook_samples import dev_secrets


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Capture:
    harness: CaptureHarness

    def invoke(self, name: str) -> Answer:
        """Send one sample to the handler (its stream delivered to the in-memory bus)."""
        event = json.loads((samples.TRACKING_DIR / name).read_text(encoding="utf-8"))
        response = self.harness.invoke(event)
        headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
        return Answer(response["statusCode"], json.loads(response["body"]), headers)

    @property
    def store(self) -> InMemoryEventStore:
        return self.harness.store

    @property
    def published(self) -> list[BusEvent]:
        return self.harness.bus.events

    def published_events(self) -> list[CanonicalEvent]:
        return self.harness.published_events()


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Capture wired to fakes, the development write keys, and a clock at the moment the samples arrived."""
    with wired_capture(dev_secrets(), samples.RECEIVED_AT) as harness:
        yield Capture(harness)


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    """A sample with a compressed body replaced by the JSON inside (compressed bytes differ between zlib builds)."""
    if (event.get("headers") or {}).get("content-encoding") != "gzip":
        return event
    return {**event, "body": json.loads(gzip.decompress(base64.b64decode(event["body"])))}


# ---------------------------------------------------------------- the samples are in step with their generator


def test_sample_files_match_their_generator() -> None:
    # Given the committed samples and what tests/tracking_samples.py generates today
    for directory, generated in (
        (samples.TRACKING_DIR, samples.tracking_samples()),
        (samples.BUS_DIR, samples.bus_samples()),
    ):
        on_disk = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in directory.glob("*.json")}

        # Then they are the same (regenerate with: PYTHONPATH=shared .venv/bin/python -m tests.tracking_samples)
        assert {name: _comparable(event) for name, event in on_disk.items()} == {
            name: _comparable(event) for name, event in generated.items()
        }


def test_samples_authenticate_with_the_development_write_key() -> None:
    # Given the Authorization header of the samples, Then it is HTTP Basic with dev-write-key and no password
    scheme, _, credentials = samples.AUTHORIZATION.partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials) == b"dev-write-key:"
    assert "dev-write-key" in dev_secrets()["write_keys"]


# ---------------------------------------------------------------- single calls


@pytest.mark.parametrize(
    ("name", "detail_type", "channel"),
    [
        ("identify.json", "identify", Channel.WEB),
        ("track_product_added.json", "Product Added", Channel.WEB),
        ("page.json", "page", Channel.WEB),
        ("screen.json", "screen", Channel.APP),
    ],
)
def test_single_call_is_accepted_stored_and_published_once(
    capture: Capture, name: str, detail_type: str, channel: Channel
) -> None:
    # Given one tracking-API sample
    # When capture receives it
    answer = capture.invoke(name)

    # Then it answers as the Segment SDKs expect
    assert answer.status == 200
    assert answer.body == {"success": True, "accepted": 1, "duplicates": 0, "rejected": [], "more_rejected": 0}
    # And the event is stored once and published once, from capture, under its Segment name
    assert len(capture.store.events) == 1
    assert [(event.source, event.detail_type) for event in capture.published] == [("omnichannel.capture", detail_type)]
    published = capture.published_events()[0]
    assert published.channel is channel
    assert published.received_at == samples.RECEIVED_AT


def test_identify_normalises_the_email_and_phone_traits(capture: Capture) -> None:
    # Given an identify with the e-mail in mixed case and a Turkish phone number without country code
    # When capture receives it
    capture.invoke("identify.json")

    # Then both are identifiers in their one canonical spelling, beside the SDK's user and anonymous ids
    assert capture.published_events()[0].identifiers == {
        IdentifierType.USER_ID: "cus_1001",
        IdentifierType.ANONYMOUS_ID: samples.ANONYMOUS_ID,
        IdentifierType.EMAIL: "ayse.yilmaz@example.com",
        IdentifierType.PHONE: "+905321234567",
    }


def test_screen_from_the_ios_sdk_carries_the_device(capture: Capture) -> None:
    # Given a screen call from analytics-ios
    # When capture receives it
    capture.invoke("screen.json")

    # Then it is an app event with the device's id as identifier and the screen's name
    event = capture.published_events()[0]
    assert event.type is EventType.SCREEN
    assert event.name == "Sepet"
    assert event.identifiers[IdentifierType.DEVICE_ID] == samples.DEVICE_ID


@pytest.mark.parametrize(
    ("tracking_sample", "bus_sample"),
    [("track_product_added.json", "product_added.json"), ("identify.json", "identify.json")],
)
def test_capture_publishes_exactly_the_bus_sample(capture: Capture, tracking_sample: str, bus_sample: str) -> None:
    # Given the bus sample the consumers test with (events/bus/)
    expected = json.loads((samples.BUS_DIR / bus_sample).read_text(encoding="utf-8"))

    # When capture receives the tracking sample it was written for
    capture.invoke(tracking_sample)

    # Then what capture puts on the bus is that event: same source, detail-type and detail
    (published,) = capture.published
    assert published.source == expected["source"]
    assert published.detail_type == expected["detail-type"]
    assert json.loads(json.dumps(published.detail)) == expected["detail"]


def test_a_resent_call_is_answered_but_not_published_again(capture: Capture) -> None:
    # Given a call capture already accepted
    capture.invoke("track_product_added.json")

    # When the SDK sends it again (same messageId: a retry after a timeout)
    answer = capture.invoke("track_product_added.json")

    # Then it is answered as a success, counted as a duplicate, and the bus saw it once
    assert answer.status == 200
    assert answer.body["accepted"] == 0
    assert answer.body["duplicates"] == 1
    assert len(capture.published) == 1


# ---------------------------------------------------------------- batches


def test_batch_is_accepted_whole_and_corrected_for_the_device_clock(capture: Capture) -> None:
    # Given a mixed batch from a phone whose clock is 2 h 13 min behind, with the batch-level sentAt
    # When capture receives it
    answer = capture.invoke("batch.json")

    # Then every call is accepted and published, in order
    assert answer.status == 200
    assert answer.body == {"success": True, "accepted": 4, "duplicates": 0, "rejected": [], "more_rejected": 0}
    events = capture.published_events()
    assert [(event.type, event.name) for event in events] == [
        (EventType.SCREEN, "Ürün detayı"),
        (EventType.TRACK, "Product Added"),
        (EventType.IDENTIFY, None),
        (EventType.ALIAS, None),
    ]
    # And each happened as long before arrival as it happened before sending, on the server's clock
    assert [event.occurred_at for event in events] == [samples.RECEIVED_AT - age for age in samples.BATCH_AGES]
    assert all(event.sent_at == samples.BATCH_SENT_AT for event in events)
    # And the batch's context applies to each call: all come from the app, with the device's id
    assert {event.channel for event in events} == {Channel.APP}
    assert all(event.identifiers[IdentifierType.DEVICE_ID] == samples.DEVICE_ID for event in events)
    assert events[2].identifiers[IdentifierType.PHONE] == samples.PHONE_E164
    assert events[3].previous_id == "C1A4E7B0-52D9-4E3B-8F6A-0B9C8D7E6F50"


def test_one_bad_message_does_not_sink_the_batch(capture: Capture) -> None:
    # Given a batch of three whose second call is a track without an event name
    # When capture receives it
    answer = capture.invoke("batch_with_bad_message.json")

    # Then the two good calls are accepted and published, and the bad one is reported by index and messageId
    assert answer.status == 200
    assert answer.body["accepted"] == 2
    assert answer.body["rejected"] == [
        {
            "index": 1,
            "messageId": "ajs-next-1767257999000-7c2d-2",
            "errors": [{"field": "batch.1.event", "message": "a track call needs an event name"}],
        }
    ]
    assert [event.detail_type for event in capture.published] == ["page", "Cart Viewed"]
    assert event_id_for(samples.SOURCE, "ajs-next-1767257999000-7c2d-2") not in capture.store.items


def test_a_message_dated_outside_the_window_is_refused_alone_naming_its_timestamp(capture: Capture) -> None:
    # Given a batch whose second call is an order dated year 1
    # When capture receives it
    answer = capture.invoke("batch_with_poison_timestamp.json")

    # Then the first is accepted and the order refused by index, naming the field; it never reaches the bus
    assert answer.status == 200
    assert answer.body["accepted"] == 1
    assert [item["index"] for item in answer.body["rejected"]] == [1]
    assert [error["field"] for error in answer.body["rejected"][0]["errors"]] == ["batch.1.timestamp"]
    assert [event.detail_type for event in capture.published] == ["Product Viewed"]


def test_gzip_compressed_batch_is_decompressed_and_accepted(capture: Capture) -> None:
    # Given a batch compressed with gzip, base64 in the event as API Gateway delivers binary bodies
    # When capture receives it
    answer = capture.invoke("batch_gzip.json")

    # Then it is read like any batch
    assert answer.status == 200
    assert answer.body == {"success": True, "accepted": 2, "duplicates": 0, "rejected": [], "more_rejected": 0}
    order, identify = capture.published_events()
    assert order.name == "Order Completed"
    assert order.properties["order_id"] == "ORD-50021"
    assert identify.identifiers[IdentifierType.EMAIL] == samples.EMAIL_NORMALISED
    # And the batch's sentAt corrects the server's timestamps as it corrects a device's
    assert order.occurred_at == samples.RECEIVED_AT - timedelta(seconds=4)


# ---------------------------------------------------------------- refused


def test_unknown_write_key_is_refused_and_nothing_is_kept(capture: Capture) -> None:
    # Given a call authenticated with a write key capture does not know
    # When capture receives it
    answer = capture.invoke("unauthorized.json")

    # Then it is refused as unauthorized, with the challenge HTTP Basic clients expect
    assert answer.status == 401
    assert answer.body["success"] is False
    assert answer.body["code"] == "unauthorized"
    assert answer.headers["www-authenticate"].startswith("Basic ")
    # And nothing was stored or published
    assert capture.store.items == {}
    assert capture.published == []


def test_samples_arrive_when_the_tests_clock_says(capture: Capture) -> None:
    # Given the time API Gateway stamped on a sample, Then it is the tests' clock (received_at above relies on it)
    event = json.loads((samples.TRACKING_DIR / "identify.json").read_text(encoding="utf-8"))
    stamped = datetime.fromtimestamp(event["requestContext"]["timeEpoch"] / 1000, tz=samples.RECEIVED_AT.tzinfo)
    assert stamped == samples.RECEIVED_AT == wiring.now()
