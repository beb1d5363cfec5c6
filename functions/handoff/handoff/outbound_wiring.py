"""Builds the online-to-store and delivery pieces, once per execution environment; tests replace the senders
or the WhatsApp credentials with ``override(...)``. The clock and the publisher are ``handoff.wiring``'s, so
``handoff.wiring.override(clock=...)`` moves every part of the function in step."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handoff import wiring
from handoff.dal.context_reader import CartEpisodeReader, ContextReader
from handoff.dal.conversation_store import ConversationStore
from handoff.dal.customer_reader import CustomerReader
from handoff.dal.offer_store import CapChanged, OfferStore
from handoff.dal.outbox_store import OutboxStore
from handoff.dal.store_catalog import StoreCatalog
from handoff.dal.ticket_store import TicketStore
from handoff.logic.offer_recheck import OfferRecheck
from handoff.logic.offer_service import OFFER_REASON, OfferService
from handoff.logic.store_offer import Policy
from handoff.outbound.aws_senders import SesSender, SnsSmsSender
from handoff.outbound.dispatcher import Dispatcher, Sender
from handoff.outbound.message import RetryPolicy
from handoff.outbound.whatsapp import WhatsAppSender
from handoff.outbound_settings import get_outbound_settings
from omnichannel import aws_clients
from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.event_bus import BusEvent, PublishResult
from omnichannel.handoff_events import OutboundChannel


class _Publisher:
    """The function's current publisher (``handoff.wiring``'s), looked up at each publish."""

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        return wiring.get_publisher().publish(events)


@dataclass
class _Overrides:
    senders: Mapping[OutboundChannel, Sender] | None = None
    whatsapp_credentials: Callable[[], tuple[str, str]] | None = None


_overrides = _Overrides()


def override(
    *,
    senders: Mapping[OutboundChannel, Sender] | None = None,
    whatsapp_credentials: Callable[[], tuple[str, str]] | None = None,
) -> None:
    global _overrides  # one wiring per execution environment
    _overrides = _Overrides(senders=senders, whatsapp_credentials=whatsapp_credentials)


def reset() -> None:
    override()


def get_catalog() -> StoreCatalog:
    return StoreCatalog(aws_clients.dynamodb(), get_outbound_settings().handoff_table_name)


def get_outbox() -> OutboxStore:
    return OutboxStore(aws_clients.dynamodb(), get_outbound_settings().handoff_table_name)


def get_offer_store() -> OfferStore:
    return OfferStore(aws_clients.dynamodb(), get_outbound_settings().handoff_table_name)


def policy() -> Policy:
    settings = get_outbound_settings()
    return Policy(
        radius_km=settings.store_radius_km,
        cap=FrequencyCap.parse(settings.offer_cap),
        business_zone=settings.business_time_zone,
        quiet_hours=QuietHours.parse(settings.quiet_hours),
        channel_order=settings.offer_channel_order,
    )


def get_offer_service() -> OfferService:
    settings = get_outbound_settings()
    client = aws_clients.dynamodb()
    table = settings.handoff_table_name
    return OfferService(
        offers=OfferStore(client, table),
        outbox=OutboxStore(client, table),
        customers=CustomerReader(
            client, profiles_table=settings.profiles_table_name, conversations=ConversationStore(client, table)
        ),
        catalog=StoreCatalog(client, table),
        tickets=TicketStore(table, client, clock=wiring.now),
        publisher=_Publisher(),
        clock=wiring.now,
        policy=policy(),
        cap_changed=CapChanged,
        ticket_ttl=timedelta(hours=settings.offer_ticket_ttl_hours),
    )


def _whatsapp_credentials() -> tuple[str, str]:
    if _overrides.whatsapp_credentials is not None:
        return _overrides.whatsapp_credentials()
    secret_id = get_outbound_settings().outbound_secret_id
    if not secret_id:
        return "", ""
    from aws_lambda_powertools.utilities import parameters  # imported on first use: a smaller cold start

    value: Any = parameters.get_secret(secret_id, transform="json", max_age=300)
    if not isinstance(value, dict):
        return "", ""
    return str(value.get("whatsapp_access_token") or ""), str(value.get("whatsapp_phone_number_id") or "")


def senders() -> Mapping[OutboundChannel, Sender]:
    if _overrides.senders is not None:
        return _overrides.senders
    settings = get_outbound_settings()
    return {
        OutboundChannel.EMAIL: SesSender(
            aws_clients.client("ses"), settings.ses_from_address, settings.ses_configuration_set
        ),
        OutboundChannel.SMS: SnsSmsSender(aws_clients.client("sns"), settings.sms_sender_id),
        OutboundChannel.WHATSAPP: WhatsAppSender(
            settings.whatsapp_api_base_url,
            _whatsapp_credentials,
            mode=settings.whatsapp_message_mode,
            language=settings.whatsapp_template_language,
        ),
    }


def get_offer_recheck() -> OfferRecheck:
    """The last look before a store offer goes out: cart (read-only), ticket, store stock, decision."""
    settings = get_outbound_settings()
    client = aws_clients.dynamodb()
    table = settings.handoff_table_name
    reader = ContextReader(client, profiles_table=settings.profiles_table_name, carts_table=settings.carts_table_name)
    return OfferRecheck(
        tickets=TicketStore(table, client, clock=wiring.now),
        carts=CartEpisodeReader(reader),
        stock=StoreCatalog(client, table),
        offers=OfferStore(client, table),
        clock=wiring.now,
        offer_reason=OFFER_REASON,
    )


def get_dispatcher() -> Dispatcher:
    settings = get_outbound_settings()
    recheck = get_offer_recheck()
    return Dispatcher(
        outbox=get_outbox(),
        senders=senders(),
        clock=wiring.now,
        retry=RetryPolicy(max_attempts=settings.delivery_max_attempts),
        precondition=recheck,
        on_cancel=recheck.cancelled,
    )
