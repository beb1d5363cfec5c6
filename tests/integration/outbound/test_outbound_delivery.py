"""Outbound delivery end to end below the handler: the outbox in moto's OutboundTable (as template.yaml defines
it), e-mail through SES and SMS through SNS in moto (checked in moto's own records of what was sent), WhatsApp
through the Cloud API on a local fake server. A clock the test moves drives retries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from omnichannel.canonical_event import utc_iso
from omnichannel.handoff_events import OutboundChannel
from outbound.dal.outbox_store import OutboxStore
from outbound.delivery.aws_senders import SesSender, SnsSmsSender
from outbound.delivery.dispatcher import Dispatcher
from outbound.delivery.message import DeliveryState, OutboundMessage, RetryPolicy
from outbound.delivery.whatsapp import WhatsAppSender
from tests.support.fake_whatsapp import FakeWhatsApp, fake_whatsapp
from tests.support.moto_tables import create_table, table_properties

REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's
T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
SENDER = "offers@shop.example"
VARIABLES = {
    "product": "Kaban",
    "store_name": "Moda",
    "distance_km": "3.0",
    "code": "7K4M-Q2ZD",
    "valid_until": "12.06.2026 12:00",
}


@dataclass
class Env:
    outbox: OutboxStore
    dispatcher: Dispatcher
    whatsapp: FakeWhatsApp
    clock: list[datetime]

    def request(self, channel: OutboundChannel, to: str, message_id: str, due: datetime | None = None) -> None:
        at = utc_iso(due or self.clock[0])
        message = OutboundMessage(
            message_id=message_id,
            profile_id="p-1",
            channel=channel,
            to=to,
            template="reserve_in_store",
            variables=VARIABLES,
            reason="test",
            ticket_code="7K4MQ2ZD",
            requested_at=utc_iso(self.clock[0]),
            due_at=at,
        )
        assert self.outbox.request(message, expires_at=2_000_000_000)


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws(), fake_whatsapp() as whatsapp:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, "outbound", table_properties("OutboundTable"))
        ses = boto3.client("ses", region_name=REGION)
        ses.verify_email_identity(EmailAddress=SENDER)
        clock = [T0]
        outbox = OutboxStore(dynamodb, "outbound")
        dispatcher = Dispatcher(
            outbox=outbox,
            senders={
                OutboundChannel.EMAIL: SesSender(ses, SENDER),
                OutboundChannel.SMS: SnsSmsSender(boto3.client("sns", region_name=REGION)),
                OutboundChannel.WHATSAPP: WhatsAppSender(
                    whatsapp.url, lambda: (whatsapp.token, whatsapp.phone_number_id)
                ),
            },
            clock=lambda: clock[0],
            retry=RetryPolicy(max_attempts=3),
        )
        yield Env(outbox, dispatcher, whatsapp, clock)


def ses_sent() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def sms_sent() -> dict[str, Any]:
    from moto.sns.models import sns_backends

    return dict(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages)


def test_an_email_goes_through_ses_once(env: Env) -> None:
    # Given a requested e-mail
    env.request(OutboundChannel.EMAIL, "ayse@example.com", "m-email")

    # When it is delivered, and the same request is delivered again
    first = env.dispatcher.deliver("m-email")
    again = env.dispatcher.deliver("m-email")

    # Then SES sent exactly one message from the verified sender with the code in it
    assert first.outcome == "sent"
    assert again.outcome == "skipped"
    sent = ses_sent()
    assert len(sent) == 1
    assert sent[0].source == SENDER
    assert sent[0].destinations["ToAddresses"] == ["ayse@example.com"]
    assert "7K4M-Q2ZD" in sent[0].body
    assert sent[0].subject == "Your cart is waiting at Moda"
    # And the outbox says sent, with SES's message id
    stored = env.outbox.get("m-email")
    assert stored is not None
    assert stored.state is DeliveryState.SENT
    assert stored.provider_id == sent[0].id
    assert stored.attempts == 1


def test_an_unverified_sender_fails_at_once(env: Env) -> None:
    # Given a sender SES does not know
    env.dispatcher.senders = {OutboundChannel.EMAIL: SesSender(boto3.client("ses", region_name=REGION), "x@y.example")}
    env.request(OutboundChannel.EMAIL, "ayse@example.com", "m-unverified")

    # Then the send is refused for good (MessageRejected), with no retry
    attempt = env.dispatcher.deliver("m-unverified")
    assert attempt.outcome == "failed"
    stored = env.outbox.get("m-unverified")
    assert stored is not None
    assert stored.state is DeliveryState.FAILED
    assert "MessageRejected" in (stored.last_error or "")
    assert stored.error_code == "MessageRejected"  # what message.failed carries: the code, never the words
    assert ses_sent() == []


def test_an_sms_goes_through_sns_once(env: Env) -> None:
    # Given a requested SMS
    env.request(OutboundChannel.SMS, "+905321112299", "m-sms")

    # When delivered twice
    assert env.dispatcher.deliver("m-sms").outcome == "sent"
    assert env.dispatcher.deliver("m-sms").outcome == "skipped"

    # Then SNS published one SMS to that number, with the code
    sent = sms_sent()
    assert len(sent) == 1
    ((provider_id, (phone, text)),) = sent.items()
    assert phone == "+905321112299"
    assert "7K4M-Q2ZD" in text
    stored = env.outbox.get("m-sms")
    assert stored is not None
    assert stored.provider_id == provider_id


def test_a_whatsapp_message_goes_to_the_cloud_api_once_as_a_template(env: Env) -> None:
    # Given a requested WhatsApp message
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-wa")

    # When delivered twice
    assert env.dispatcher.deliver("m-wa").outcome == "sent"
    assert env.dispatcher.deliver("m-wa").outcome == "skipped"

    # Then the Cloud API got one authorised template message with the code as a body parameter
    assert len(env.whatsapp.requests) == 1
    request = env.whatsapp.requests[0]
    assert request.authorization == "Bearer dev-whatsapp-token"
    assert request.body["to"] == "905321112299"
    assert request.body["type"] == "template"
    assert request.body["template"]["name"] == "reserve_in_store"
    parameters = [p["text"] for p in request.body["template"]["components"][0]["parameters"]]
    assert "7K4M-Q2ZD" in parameters
    stored = env.outbox.get("m-wa")
    assert stored is not None
    assert stored.provider_id == request.message_id


def test_a_message_not_yet_due_waits_for_the_sweep(env: Env) -> None:
    # Given a message due in two hours
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-later", due=T0 + timedelta(hours=2))

    # Then neither a direct delivery nor the sweep sends it before then
    assert env.dispatcher.deliver("m-later").outcome == "skipped"
    assert env.dispatcher.deliver_due() == []
    # And the sweep sends it once its time has come
    env.clock[0] = T0 + timedelta(hours=2, seconds=1)
    assert [a.outcome for a in env.dispatcher.deliver_due()] == ["sent"]
    assert env.dispatcher.deliver_due() == []
    assert len(env.whatsapp.delivered) == 1


def test_transient_failures_are_retried_with_backoff_then_sent(env: Env) -> None:
    # Given the Cloud API failing twice with 503
    env.whatsapp.fail_next(2, 503)
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-retry")

    # When delivered: the first attempt fails and is parked for a minute
    assert env.dispatcher.deliver("m-retry").outcome == "retry"
    assert env.dispatcher.deliver_due() == []  # not before the backoff
    env.clock[0] = T0 + timedelta(minutes=1)
    assert [a.outcome for a in env.dispatcher.deliver_due()] == ["retry"]  # second 503, now 2 minutes
    env.clock[0] = T0 + timedelta(minutes=2)
    assert env.dispatcher.deliver_due() == []
    env.clock[0] = T0 + timedelta(minutes=3)
    assert [a.outcome for a in env.dispatcher.deliver_due()] == ["sent"]

    # Then one message reached the customer, on the third attempt
    assert [r.status for r in env.whatsapp.requests] == [503, 503, 200]
    stored = env.outbox.get("m-retry")
    assert stored is not None
    assert stored.state is DeliveryState.SENT
    assert stored.attempts == 3


def test_a_message_that_keeps_failing_is_marked_failed(env: Env) -> None:
    # Given the Cloud API failing more often than the 3 attempts allowed
    env.whatsapp.fail_next(10, 500)
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-fail")

    # When every retry comes due
    outcomes = [env.dispatcher.deliver("m-fail").outcome]
    for minutes in (1, 3, 10, 60):
        env.clock[0] = T0 + timedelta(minutes=minutes)
        outcomes += [a.outcome for a in env.dispatcher.deliver_due()]

    # Then it was tried 3 times and is failed, out of the due index
    assert outcomes == ["retry", "retry", "failed"]
    stored = env.outbox.get("m-fail")
    assert stored is not None
    assert stored.state is DeliveryState.FAILED
    assert stored.attempts == 3
    assert "HTTP 500" in (stored.last_error or "")
    assert stored.error_code == "HTTP500"
    assert env.whatsapp.delivered == []


def test_a_bad_token_is_a_permanent_failure(env: Env) -> None:
    env.dispatcher.senders = {
        OutboundChannel.WHATSAPP: WhatsAppSender(env.whatsapp.url, lambda: ("stolen", env.whatsapp.phone_number_id))
    }
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-token")
    assert env.dispatcher.deliver("m-token").outcome == "failed"
    assert [r.status for r in env.whatsapp.requests] == [401]


def test_a_sender_that_died_mid_send_is_replaced_after_its_lease(env: Env) -> None:
    # Given a worker claimed the message and vanished
    env.request(OutboundChannel.SMS, "+905321112299", "m-lease")
    assert env.outbox.claim("m-lease", utc_iso(T0), utc_iso(T0 + timedelta(minutes=2))) is not None

    # Then nobody else sends it during the lease, and the sweep does afterwards
    assert env.dispatcher.deliver("m-lease").outcome == "skipped"
    env.clock[0] = T0 + timedelta(minutes=2, seconds=1)
    assert [a.outcome for a in env.dispatcher.deliver_due()] == ["sent"]
    assert len(sms_sent()) == 1


def test_text_mode_sends_the_rendered_text(env: Env) -> None:
    # Given a sandbox configured for plain text messages
    env.dispatcher.senders = {
        OutboundChannel.WHATSAPP: WhatsAppSender(
            env.whatsapp.url, lambda: (env.whatsapp.token, env.whatsapp.phone_number_id), mode="text"
        )
    }
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-text")

    # Then the body is the text, with the code in it
    assert env.dispatcher.deliver("m-text").outcome == "sent"
    body = env.whatsapp.delivered[0].body
    assert body["type"] == "text"
    assert "7K4M-Q2ZD" in body["text"]["body"]


def test_an_unreachable_api_is_retried(env: Env) -> None:
    # Given a base URL nobody listens on
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env.dispatcher.senders = {
        OutboundChannel.WHATSAPP: WhatsAppSender(f"http://127.0.0.1:{closed_port}", lambda: ("t", "1"), timeout=1)
    }
    env.request(OutboundChannel.WHATSAPP, "+905321112299", "m-down")

    # Then the attempt is transient: parked for a retry with the error recorded
    attempt = env.dispatcher.deliver("m-down")
    assert attempt.outcome == "retry"
    stored = env.outbox.get("m-down")
    assert stored is not None
    assert stored.state is DeliveryState.REQUESTED
    assert stored.next_at == utc_iso(T0 + timedelta(minutes=1))
    assert stored.last_error == "whatsapp: URLError"
