"""Provider payloads → canonical events: names, channels, identifiers, properties and stable ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from capture.logic.event_builder import from_unix
from capture.logic.webhooks.mapping import MappingContext
from capture.logic.webhooks.meta_messaging import map_instagram, map_messenger
from capture.logic.webhooks.pos import InvalidPosPayload, map_pos, parse_pos_payload
from capture.logic.webhooks.twilio import consent_keyword, map_sms, map_voice
from capture.logic.webhooks.whatsapp import map_whatsapp
from omnichannel.canonical_event import Channel, EventType, event_id_for
from omnichannel.identifiers import IdentifierType
from tests import webhook_samples as samples

RECEIVED = datetime(2026, 1, 1, 9, 1, tzinfo=UTC)
CONTEXT = MappingContext(received_at=RECEIVED, default_region="TR")


# ---------------------------------------------------------------- WhatsApp


def test_whatsapp_message_links_the_wa_id_and_the_phone_number():
    # Given a WhatsApp Cloud API notification with one text message
    payload = samples.whatsapp_message_payload()

    # When it is mapped
    mapped = map_whatsapp(payload, CONTEXT)

    # Then it is one "Message Received" on whatsapp carrying both the wa_id and the E.164 phone
    assert len(mapped.events) == 1
    event = mapped.events[0].event
    assert (event.type, event.name, event.channel) == (EventType.TRACK, "Message Received", Channel.WHATSAPP)
    assert event.identifiers == {IdentifierType.WHATSAPP: "905321234567", IdentifierType.PHONE: "+905321234567"}
    # ... identified by the wamid, so Meta's retry of it is the same event
    assert event.message_id == samples.WHATSAPP_MESSAGE_ID
    assert event.event_id == event_id_for("whatsapp", samples.WHATSAPP_MESSAGE_ID)
    assert event.properties["text"] == "Merhaba, siparişim ne zaman gelir?"
    assert event.properties["message_type"] == "text"
    assert event.properties["profile_name"] == "Ayşe Yılmaz"
    assert event.properties["business_phone_number_id"] == "106540352242922"
    assert event.occurred_at == datetime(2026, 1, 1, 8, 58, tzinfo=UTC)
    assert event.received_at == RECEIVED
    assert samples.WHATSAPP_MESSAGE_ID in (mapped.events[0].raw or "")


def test_whatsapp_statuses_are_kept_once_per_step():
    # Given "delivered" then "read" for the same outbound message
    delivered = map_whatsapp(samples.whatsapp_status_payload("delivered"), CONTEXT).events[0].event
    read = map_whatsapp(samples.whatsapp_status_payload("read"), CONTEXT).events[0].event
    resent = map_whatsapp(samples.whatsapp_status_payload("delivered"), CONTEXT).events[0].event

    # Then each step is its own "Message Status Updated", and a resent step is the same event
    assert delivered.name == "Message Status Updated"
    assert (delivered.properties["status"], read.properties["status"]) == ("delivered", "read")
    assert delivered.message_id == f"{samples.WHATSAPP_OUTBOUND_ID}:delivered"
    assert delivered.event_id != read.event_id
    assert resent.event_id == delivered.event_id
    assert delivered.identifiers[IdentifierType.PHONE] == "+905321234567"


def test_whatsapp_failed_status_carries_the_error_codes():
    # Given a failed status with Meta's error list
    payload = samples.whatsapp_status_payload("failed")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["errors"] = [{"code": 131026, "title": "Message undeliverable"}]

    # When it is mapped
    event = map_whatsapp(payload, CONTEXT).events[0].event

    # Then the codes travel with it
    assert event.properties["status"] == "failed"
    assert event.properties["errors"] == [{"code": 131026, "title": "Message undeliverable"}]


def test_whatsapp_interactive_reply_text_is_its_title():
    # Given a customer pressing a reply button
    payload = samples.whatsapp_message_payload()
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message["type"] = "interactive"
    message["interactive"] = {"type": "button_reply", "button_reply": {"id": "track", "title": "Kargom nerede?"}}

    # When / Then the button title is the message text
    event = map_whatsapp(payload, CONTEXT).events[0].event
    assert (event.properties["message_type"], event.properties["text"]) == ("interactive", "Kargom nerede?")


def test_whatsapp_non_message_changes_and_system_messages_are_ignored():
    # Given a template status update and a "customer changed number" system message
    template_update = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}
        ],
    }
    system = samples.whatsapp_message_payload()
    system["entry"][0]["changes"][0]["value"]["messages"][0].update({"type": "system", "system": {"body": "x"}})

    # When they are mapped
    mapped = [map_whatsapp(template_update, CONTEXT), map_whatsapp(system, CONTEXT), map_whatsapp([], CONTEXT)]

    # Then nothing is produced, and each is counted as ignored
    assert [len(m.events) for m in mapped] == [0, 0, 0]
    assert [m.ignored for m in mapped] == [1, 1, 1]


def test_whatsapp_invalid_wa_id_is_dropped_not_fatal():
    # Given a message whose sender is not a phone number
    payload = samples.whatsapp_message_payload()
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "0"

    # When it is mapped
    mapped = map_whatsapp(payload, CONTEXT)

    # Then the event is still captured, without the unusable identifiers, and the drop is reported
    assert len(mapped.events) == 1
    assert mapped.events[0].event.identifiers == {}
    assert {d.identifier_type for d in mapped.dropped_identifiers} == {IdentifierType.WHATSAPP, IdentifierType.PHONE}


# ---------------------------------------------------------------- Messenger and Instagram


def test_messenger_message_is_identified_by_psid():
    # Given a Messenger text message
    mapped = map_messenger(samples.messenger_payload(), CONTEXT)

    # Then it is a "Message Received" on messenger with the PSID and the mid as its id
    event = mapped.events[0].event
    assert (event.name, event.channel) == ("Message Received", Channel.MESSENGER)
    assert event.identifiers == {IdentifierType.MESSENGER: samples.PSID}
    assert event.event_id == event_id_for("messenger", samples.MESSENGER_MID)
    assert event.properties["text"] == "Kırmızı montun M bedeni var mı?"
    assert event.properties["page_id"] == "109876543210987"
    assert event.occurred_at == datetime(2026, 1, 1, 8, 59, 30, tzinfo=UTC)


def test_messenger_echoes_deliveries_and_reads_are_ignored():
    # Given an echo of our own message, plus a delivery and a read receipt in the same entry
    payload = samples.messenger_payload(echo=True)
    payload["entry"][0]["messaging"] += [
        {"sender": {"id": samples.PSID}, "recipient": {"id": "1"}, "delivery": {"mids": ["m_1"], "watermark": 1}},
        {"sender": {"id": samples.PSID}, "recipient": {"id": "1"}, "timestamp": 2, "read": {"watermark": 1}},
    ]

    # When it is mapped
    mapped = map_messenger(payload, CONTEXT)

    # Then nothing is captured and all three are counted as ignored
    assert mapped.events == []
    assert mapped.ignored == 3


def test_messenger_postback_is_a_customer_message():
    # Given a customer pressing a "Get Started" button
    payload = samples.messenger_payload()
    item = payload["entry"][0]["messaging"][0]
    item.pop("message")
    item["postback"] = {"mid": "m_postback_1", "title": "Başla", "payload": "GET_STARTED"}

    # When / Then it is captured as a message of type postback
    event = map_messenger(payload, CONTEXT).events[0].event
    assert event.message_id == "m_postback_1"
    assert (event.properties["message_type"], event.properties["text"]) == ("postback", "Başla")


def test_instagram_message_is_identified_by_igsid_and_other_objects_are_ignored():
    # Given an Instagram image message, and a Messenger payload posted to the Instagram webhook by mistake
    mapped = map_instagram(samples.instagram_payload(), CONTEXT)
    misrouted = map_instagram(samples.messenger_payload(), CONTEXT)

    # Then the first is captured with the IGSID, the second ignored
    event = mapped.events[0].event
    assert (event.name, event.channel) == ("Message Received", Channel.INSTAGRAM)
    assert event.identifiers == {IdentifierType.INSTAGRAM: samples.IGSID}
    assert event.properties["message_type"] == "image"
    assert event.event_id == event_id_for("instagram", samples.INSTAGRAM_MID)
    assert (misrouted.events, misrouted.ignored) == ([], 1)


# ---------------------------------------------------------------- Twilio


def test_sms_is_a_message_from_the_senders_phone():
    # Given an inbound SMS
    event = map_sms(samples.twilio_sms_params(), CONTEXT).events[0].event

    # Then it is a "Message Received" on sms, from the E.164 phone, identified by the MessageSid
    assert (event.name, event.channel) == ("Message Received", Channel.SMS)
    assert event.identifiers == {IdentifierType.PHONE: "+905321234567"}
    assert event.event_id == event_id_for("twilio", samples.SMS_SID)
    assert event.properties["text"] == "Siparişim kargoya verildi mi?"
    assert "opt_out" not in event.properties
    assert "opt_in" not in event.properties


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop. ", "UNSUBSCRIBE", "cancel", "End", "quit!", "STOPALL"])
def test_sms_opt_out_keyword_sets_opt_out(body):
    # Given an SMS that is only an opt-out keyword
    event = map_sms(samples.twilio_sms_params(body=body), CONTEXT).events[0].event

    # Then the event says so, with the keyword, for the handoff function to honour
    assert event.properties["opt_out"] is True
    assert event.properties["consent_keyword"] == body.strip().rstrip(".!").upper()
    assert "opt_in" not in event.properties


@pytest.mark.parametrize(
    ("body", "opt_out_type", "expected"),
    [
        ("START", None, ("opt_in", "START")),
        ("unstop", None, ("opt_in", "UNSTOP")),
        ("please stop sending", None, None),
        ("yes", None, None),
        ("DUR", "STOP", ("opt_out", "DUR")),  # a custom keyword Twilio's Advanced Opt-Out recognised
        ("HELP", "HELP", None),
    ],
)
def test_consent_keywords(body, opt_out_type, expected):
    # Given / When / Then only whole-message keywords (or Twilio's own verdict) count as consent changes
    assert consent_keyword(body, opt_out_type) == expected


def test_twilio_whatsapp_message_carries_both_identifiers():
    # Given a WhatsApp message delivered through Twilio's WhatsApp sender
    params = {**samples.twilio_sms_params(), "From": "whatsapp:+905321234567", "To": "whatsapp:+908501234567"}

    # When / Then it is on the whatsapp channel with the wa_id and the phone
    event = map_sms(params, CONTEXT).events[0].event
    assert event.channel is Channel.WHATSAPP
    assert event.identifiers == {IdentifierType.WHATSAPP: "905321234567", IdentifierType.PHONE: "+905321234567"}
    assert event.properties["to"] == "+908501234567"


def test_voice_call_start_and_completion_are_two_events_each_kept_once():
    # Given the initial voice webhook, an "in-progress" callback, and the final status callback
    ringing = map_voice(samples.twilio_voice_params("ringing"), CONTEXT).events[0].event
    answered = map_voice(samples.twilio_voice_params("in-progress"), CONTEXT).events[0].event
    completed = map_voice(samples.twilio_voice_params("completed", duration="184"), CONTEXT).events[0].event

    # Then the call starts once and completes once, on the phone channel, from the caller's phone
    assert (ringing.name, completed.name) == ("Call Started", "Call Completed")
    assert ringing.channel is Channel.PHONE
    assert ringing.event_id == answered.event_id
    assert ringing.message_id == f"{samples.CALL_SID}:started"
    assert completed.message_id == f"{samples.CALL_SID}:completed"
    assert completed.identifiers == {IdentifierType.PHONE: "+905321234567"}
    assert completed.properties["duration_seconds"] == 184
    assert completed.properties["call_status"] == "completed"
    assert completed.occurred_at == datetime(2026, 1, 1, 8, 59, 50, tzinfo=UTC)


def test_voice_outbound_call_identifies_the_called_customer_and_unknown_status_is_ignored():
    # Given an outbound call we placed that the customer did not answer, and a status Twilio may add later
    params = {
        **samples.twilio_voice_params("no-answer", duration="0"),
        "Direction": "outbound-api",
        "From": samples.BUSINESS_PHONE,
        "To": "+905559876543",
    }
    unknown = map_voice(samples.twilio_voice_params("hold-music"), CONTEXT)

    # When / Then the customer is the callee, the call is over (not answered); the unknown status is ignored
    event = map_voice(params, CONTEXT).events[0].event
    assert event.name == "Call Completed"
    assert event.identifiers == {IdentifierType.PHONE: "+905559876543"}
    assert event.properties["call_status"] == "no-answer"
    assert (unknown.events, unknown.ignored) == ([], 1)


def test_twilio_counts_that_are_not_ascii_digits_are_ignored_not_fatal():
    # Given a completed call whose CallDuration is a superscript two (str.isdigit() accepts it, int() does not)
    params = samples.twilio_voice_params("completed", duration="²")

    # When / Then it is mapped without the duration instead of failing
    event = map_voice(params, CONTEXT).events[0].event
    assert event.name == "Call Completed"
    assert "duration_seconds" not in event.properties


# ---------------------------------------------------------------- epoch timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1767258000", datetime(2026, 1, 1, 9, 0, tzinfo=UTC), id="seconds"),
        pytest.param(" 1767258000123 ", datetime(2026, 1, 1, 9, 0, 0, 123000, tzinfo=UTC), id="milliseconds"),
        pytest.param(1767258000, datetime(2026, 1, 1, 9, 0, tzinfo=UTC), id="number"),
        pytest.param("²", None, id="superscript digit"),
        pytest.param("1767258000²", None, id="trailing superscript digit"),
        pytest.param("١٧٦٧٢٥٨٠٠٠", None, id="Arabic-Indic digits"),
        pytest.param("１７６７２５８０００", None, id="fullwidth digits"),
        pytest.param("-5", None, id="negative"),
        pytest.param("1" * 17, None, id="too long"),
        pytest.param("", None, id="empty"),
        pytest.param(True, None, id="boolean"),
    ],
)
def test_from_unix_reads_ascii_digits_only(value, expected):
    # Given / When / Then an epoch of ASCII digits is read; anything else is unreadable (None), never an error
    assert from_unix(value) == expected


def test_whatsapp_message_with_a_non_ascii_digit_timestamp_is_captured_at_arrival():
    # Given a WhatsApp message whose timestamp is a superscript two
    payload = samples.whatsapp_message_payload()
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "²"

    # When it is mapped
    event = map_whatsapp(payload, CONTEXT).events[0].event

    # Then it is kept, with the time we received it
    assert event.occurred_at == RECEIVED


# ---------------------------------------------------------------- POS


def _pos(payload: dict[str, object], store_id: str = "ist-kadikoy-01"):
    body = json.dumps(payload)
    return map_pos(parse_pos_payload(body.encode()), store_id, CONTEXT, raw=body)


def test_pos_sale_is_an_order_completed_with_segment_products():
    # Given the sample sale from a store
    mapped = _pos(samples.pos_sale_payload())

    # Then it is Segment's "Order Completed" on the store channel, with every identifier the store knew
    event = mapped.events[0].event
    assert (event.type, event.name, event.channel) == (EventType.TRACK, "Order Completed", Channel.STORE)
    assert event.identifiers == {
        IdentifierType.LOYALTY_CARD: "LC-0042-1234",
        IdentifierType.POS_CUSTOMER: "C-77812",
        IdentifierType.EMAIL: "ayse.yilmaz@example.com",
        IdentifierType.PHONE: "+905321234567",
    }
    assert event.message_id == "ist-kadikoy-01:sale:T-1001"
    assert event.occurred_at == datetime(2026, 1, 1, 8, 58, 30, tzinfo=UTC)
    properties = event.properties
    assert properties["order_id"] == "T-1001"
    assert properties["store_id"] == "ist-kadikoy-01"
    assert (properties["total"], properties["revenue"], properties["tax"]) == ("129.90", "108.25", "21.65")
    assert properties["currency"] == "TRY"
    assert properties["products"] == [
        {
            "product_id": "TSHIRT-RED-M",
            "sku": "TSHIRT-RED-M",
            "name": "Kırmızı tişört",
            "quantity": 1,
            "price": "89.90",
        },
        {"product_id": "P-3301", "sku": "SOCKS-3P", "name": "Çorap (3'lü)", "quantity": 2, "price": "20.00"},
    ]


def test_pos_money_is_exact_decimal_never_float():
    # Given amounts that binary floats cannot represent, sent as JSON numbers
    body = b'{"type":"sale","transaction_id":"T-9","currency":"try","total":0.3,"tax":0.1,"items":[]}'

    # When the record is parsed and mapped
    record = parse_pos_payload(body)
    event = map_pos(record, "s1", CONTEXT, raw=body.decode()).events[0].event

    # Then no float ever touched them: 0.3 - 0.1 is exactly 0.2 (a float would give 0.19999999999999998)
    assert record.type == "sale"
    assert isinstance(record.total, Decimal)
    assert (event.properties["total"], event.properties["revenue"]) == ("0.3", "0.2")
    assert event.properties["currency"] == "TRY"


def test_pos_return_and_visit():
    # Given a return of the sample sale and a store visit
    refund = _pos({**samples.pos_sale_payload("R-55"), "type": "return", "original_transaction_id": "T-1001"})
    visit = _pos({"type": "visit", "transaction_id": "V-7", "customer": {"loyalty_card": "LC-0042-1234"}})

    # Then the return refunds the original order, and the visit is a "Store Visited"
    refunded = refund.events[0].event
    assert (refunded.name, refunded.properties["order_id"]) == ("Order Refunded", "T-1001")
    assert refunded.properties["transaction_id"] == "R-55"
    visited = visit.events[0].event
    assert (visited.name, visited.properties["visit_id"]) == ("Store Visited", "V-7")
    assert visited.identifiers == {IdentifierType.LOYALTY_CARD: "LC-0042-1234"}
    assert visited.occurred_at == RECEIVED  # no time given: when we received it
    assert refunded.event_id != _pos(samples.pos_sale_payload("R-55")).events[0].event.event_id


def test_pos_invalid_identifiers_are_dropped_not_fatal():
    # Given a sale whose e-mail and phone are junk but whose loyalty card is fine
    payload = samples.pos_sale_payload()
    payload["customer"] = {
        "loyalty_card": "lc 0042 1234",
        "email": "not-an-email",
        "phone": "123",
        "pos_customer_id": "0",
    }

    # When it is mapped
    mapped = _pos(payload)

    # Then the sale is captured with the loyalty card only, and the three drops are reported by field
    assert mapped.events[0].event.identifiers == {IdentifierType.LOYALTY_CARD: "LC00421234"}
    assert sorted(d.field for d in mapped.dropped_identifiers) == [
        "customer.email",
        "customer.phone",
        "customer.pos_customer_id",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"total": None}, "total", id="sale without total"),
        pytest.param({"currency": "TL"}, "currency", id="currency not ISO 4217"),
        pytest.param({"type": "layaway"}, "type", id="unknown type"),
        pytest.param({"occurred_at": "2026-01-01T11:58:30"}, "occurred_at", id="local time without offset"),
        pytest.param({"tax": "500.00"}, "tax", id="tax above total"),
        pytest.param({"items": [{"sku": "A", "quantity": 1, "price": "abc"}]}, "items.0.price", id="price"),
        pytest.param({"items": [{"sku": "A", "quantity": 0, "price": "1"}]}, "items.0.quantity", id="quantity"),
        pytest.param({"transaction_id": ""}, "transaction_id", id="empty transaction id"),
        pytest.param({"items": [{"sku": "S" * 65, "quantity": 1, "price": "1"}]}, "items.0.sku", id="sku too long"),
        pytest.param({"items": [{"sku": "A", "quantity": 1, "price": "1"}] * 201}, "items", id="over 200 items"),
    ],
)
def test_pos_invalid_payload_names_the_field(change, field):
    # Given the sample sale with one field broken
    payload = {**samples.pos_sale_payload(), **change}
    payload = {key: value for key, value in payload.items() if value is not None}

    # When it is parsed
    with pytest.raises(InvalidPosPayload) as invalid:
        parse_pos_payload(json.dumps(payload).encode())

    # Then the problem names that field
    assert field in [name for name, _ in invalid.value.problems]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_pos_body_that_is_not_a_json_object_is_refused(body):
    # Given / When / Then a body that is not a JSON object is refused as a whole
    with pytest.raises(InvalidPosPayload) as invalid:
        parse_pos_payload(body)
    assert invalid.value.problems[0][0] == "body"
