from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from capture.logic.capture_service import IncomingEvent
from capture.logic.segment_message import BatchDefaults, MessageProblem, to_canonical
from capture.secrets import WriteKeySource
from omnichannel.canonical_event import Channel, EventType, event_id_for
from omnichannel.identifiers import IdentifierType

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DEFAULTS = BatchDefaults(source=WriteKeySource(source="web-shop"), received_at=RECEIVED)


def _accept(raw: Any, defaults: BatchDefaults = DEFAULTS, **kwargs: Any) -> IncomingEvent:
    result = to_canonical(raw, defaults, **kwargs)
    assert isinstance(result, IncomingEvent), result
    return result


def _refuse(raw: Any, **kwargs: Any) -> list[MessageProblem]:
    result = to_canonical(raw, DEFAULTS, **kwargs)
    assert isinstance(result, list), result
    return result


def test_track_becomes_a_canonical_event() -> None:
    incoming = _accept(
        {
            "type": "track",
            "event": "Product Added",
            "userId": "c-42",
            "anonymousId": "anon-1",
            "messageId": "m-1",
            "properties": {"product_id": "p1", "price": 19.9},
            "context": {"library": {"name": "analytics-ios"}, "device": {"id": "dev-9"}},
        }
    )
    event = incoming.event
    assert event.type is EventType.TRACK
    assert event.name == "Product Added"
    assert event.detail_type == "Product Added"
    assert event.channel is Channel.APP
    assert event.identifiers == {
        IdentifierType.USER_ID: "c-42",
        IdentifierType.ANONYMOUS_ID: "anon-1",
        IdentifierType.DEVICE_ID: "dev-9",
    }
    assert event.event_id == event_id_for("web-shop", "m-1")
    assert event.occurred_at == RECEIVED
    assert incoming.raw is not None
    assert '"messageId":"m-1"' in incoming.raw


def test_identify_traits_give_normalised_email_and_phone() -> None:
    event = _accept(
        {
            "type": "identify",
            "userId": "c-42",
            "messageId": "m-2",
            "traits": {"email": " İPEK@Şirket.com ", "phone": "0532 123 45 67", "loyaltyCard": "lc-77"},
        }
    ).event
    assert event.identifiers[IdentifierType.EMAIL] == "ipek@şirket.com"
    assert event.identifiers[IdentifierType.PHONE] == "+905321234567"
    assert event.identifiers[IdentifierType.LOYALTY_CARD] == "LC-77"


def test_external_ids_and_context_traits() -> None:
    event = _accept(
        {
            "type": "track",
            "event": "Order Completed",
            "anonymousId": "a-1",
            "messageId": "m-3",
            "context": {
                "traits": {"email": "bob@example.com"},
                "externalIds": [{"id": "905321234567", "type": "whatsapp", "collection": "users"}],
            },
        }
    ).event
    assert event.identifiers[IdentifierType.EMAIL] == "bob@example.com"
    assert event.identifiers[IdentifierType.WHATSAPP] == "905321234567"


def test_clock_skew_is_corrected_with_the_batch_sent_at() -> None:
    # Given a device clock 2 hours behind and a batch sent 10 s after the call
    defaults = BatchDefaults(
        source=WriteKeySource(source="app"), received_at=RECEIVED, sent_at=datetime(2026, 11, 23, 10, 0, 10, tzinfo=UTC)
    )
    event = _accept(
        {"type": "page", "anonymousId": "a", "messageId": "m", "timestamp": "2026-11-23T10:00:00Z"}, defaults
    ).event
    assert event.occurred_at == RECEIVED - timedelta(seconds=10)
    assert event.original_timestamp == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_offsets_become_utc() -> None:
    event = _accept(
        {"type": "page", "anonymousId": "a", "messageId": "m", "timestamp": "2026-11-23T15:00:00+03:00"}
    ).event
    assert event.occurred_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


def test_batch_context_is_merged_under_the_message_context() -> None:
    defaults = BatchDefaults(
        source=WriteKeySource(source="s"), received_at=RECEIVED, context={"ip": "1.2.3.4", "locale": "tr-TR"}
    )
    event = _accept(
        {"type": "page", "anonymousId": "a", "messageId": "m", "context": {"locale": "en-GB"}}, defaults
    ).event
    assert event.context == {"ip": "1.2.3.4", "locale": "en-GB"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "track", "event": "x", "messageId": "m"}, "userId"),
        ({"type": "track", "event": "x", "userId": "null", "messageId": "m"}, "userId"),
        ({"type": "track", "event": "x", "anonymousId": "undefined", "messageId": "m"}, "anonymousId"),
        ({"type": "track", "userId": "u", "messageId": "m"}, "event"),
        ({"type": "group", "userId": "u", "messageId": "m"}, "groupId"),
        ({"type": "alias", "userId": "u", "messageId": "m"}, "previousId"),
        ({"type": "launch", "userId": "u"}, "type"),
        ({"type": "track", "event": "x", "userId": "u", "properties": "not-an-object"}, "properties"),
        ({"type": "track", "event": "x", "userId": "u", "timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_bad_messages_name_the_field(raw: dict[str, Any], field: str) -> None:
    problems = _refuse(raw, prefix="batch.3.")
    assert f"batch.3.{field}" in [problem.field for problem in problems]


def test_not_an_object() -> None:
    assert _refuse(["a list"])[0].field == "body"


def test_message_over_32_kb_is_refused() -> None:
    problems = _refuse({"type": "track", "event": "x", "userId": "u", "properties": {"blob": "x" * 33_000}})
    assert problems[0].message == "larger than 32 KB"


def test_invalid_optional_identifier_is_dropped_not_fatal() -> None:
    event = _accept({"type": "identify", "userId": "u", "messageId": "m", "traits": {"email": "not-an-email"}}).event
    assert IdentifierType.EMAIL not in event.identifiers


def test_path_type_wins_and_conflicting_type_is_refused() -> None:
    assert _accept({"userId": "u", "event": "x"}, forced_type="track").event.type is EventType.TRACK
    assert _refuse({"type": "page", "userId": "u"}, forced_type="track")[0].field == "type"


def test_same_message_id_means_same_event_id_and_no_message_id_with_timestamp_is_stable() -> None:
    raw = {"type": "track", "event": "x", "userId": "u", "timestamp": "2026-11-23T10:00:00Z"}
    assert _accept(raw).event.event_id == _accept(dict(raw)).event.event_id
    no_time = {"type": "track", "event": "x", "userId": "u"}
    assert _accept(no_time).event.event_id != _accept(no_time).event.event_id


def test_another_source_with_the_same_message_id_is_another_event() -> None:
    raw = {"type": "track", "event": "x", "userId": "u", "messageId": "m-1"}
    other = BatchDefaults(source=WriteKeySource(source="backend"), received_at=RECEIVED)
    assert _accept(raw).event.event_id != _accept(raw, other).event.event_id


def test_page_category_is_kept() -> None:
    event = _accept({"type": "page", "anonymousId": "a", "messageId": "m", "category": "Shop", "name": "Coats"}).event
    assert event.name == "Coats"
    assert event.properties["category"] == "Shop"


# ---------------------------------------------------------------- what the KPIs count is checked at the gate
ORDER = {"type": "track", "event": "Order Completed", "userId": "c-1", "messageId": "m-o"}


@pytest.mark.parametrize(
    ("properties", "field"),
    [({"revenue": "abc", "currency": "TRY"}, "properties.revenue"),
     ({"revenue": True, "currency": "TRY"}, "properties.revenue"),
     ({"total": "1" + "0" * 300, "currency": "TRY"}, "properties.total"),
     ({"revenue": -1e12, "currency": "TRY"}, "properties.revenue"),
     ({"revenue": "NaN", "currency": "TRY"}, "properties.revenue"),
     ({"revenue": 10, "currency": 949}, "properties.currency"),
     ({"revenue": 10, "currency": "lira"}, "properties.currency")],
)  # fmt: skip
def test_an_order_the_kpis_could_never_count_is_refused_naming_the_field(
    properties: dict[str, Any], field: str
) -> None:
    assert field in [problem.field for problem in _refuse({**ORDER, "properties": properties})]


@pytest.mark.parametrize(
    "properties",
    [{"revenue": 19.9, "currency": "TRY"}, {"total": "100.50", "currency": " eur "}, {"revenue": 0, "currency": "JPY"},
     {"revenue": None, "total": 5, "currency": "TRY"}, {"order_id": "o-1"}, {"revenue": 10}],
)  # fmt: skip
def test_an_order_with_countable_or_absent_figures_is_accepted(properties: dict[str, Any]) -> None:
    # (an order without an amount or currency still closes a cart and ends a journey; the KPIs leave it out)
    assert _accept({**ORDER, "properties": properties}).event.properties == properties


def test_a_refund_and_a_survey_answer_are_checked_too() -> None:
    refund = {**ORDER, "event": "Order Refunded", "properties": {"total": "x", "currency": "TRY"}}
    assert [problem.field for problem in _refuse(refund)] == ["properties.total"]
    survey = {**ORDER, "event": "Survey Answered"}
    assert [problem.field for problem in _refuse({**survey, "properties": {"csat": 9}})] == ["properties.csat"]
    assert [problem.field for problem in _refuse({**survey, "properties": {"nps": 7.5}})] == ["properties.nps"]
    assert _accept({**survey, "properties": {"nps": "7"}}).event.name == "Survey Answered"
    assert _accept({**survey, "properties": {"comment": "great"}}).event.name == "Survey Answered"
    # other events' properties are the sender's own business
    assert _accept({**ORDER, "event": "Product Added", "properties": {"price": "free"}}).event.name == "Product Added"


@pytest.mark.parametrize("claimed", ["WhatsApp", " sms ", "INSTAGRAM", "phone"])
def test_a_client_keys_claim_of_a_provider_channel_never_speaks_for_a_customer(claimed: str) -> None:
    # However it spells the channel, a client key's message there is analytics, not the customer's own reply
    from omnichannel.channel_replies import consent_reply, speaks_for_customer

    stop = {"type": "track", "event": "Message Received", "userId": "c-1", "messageId": "m-stop"}
    event = _accept({**stop, "context": {"channel": claimed}, "properties": {"text": "STOP", "opt_out": True}}).event
    assert event.channel.value == claimed.strip().lower()
    assert (speaks_for_customer(event), consent_reply(event)) == (False, None)
