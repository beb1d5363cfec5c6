"""Builds the outbound pieces from settings and AWS clients, once per execution environment. Tests replace the
clock, the publisher, the senders or the WhatsApp credentials with ``override(...)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from omnichannel import aws_clients
from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.event_bus import EventBridgePublisher, EventPublisher
from omnichannel.handoff_events import OutboundChannel
from outbound.dal.customer_reader import CartEpisodeReader, CustomerReader
from outbound.dal.offer_store import CapChanged, OfferStore, TicketCodeTaken
from outbound.dal.offer_ticket_store import OfferTicketStore
from outbound.dal.outbox_store import OutboxStore
from outbound.dal.store_catalog import StoreCatalog
from outbound.delivery.aws_senders import SesSender, SnsSmsSender
from outbound.delivery.dispatcher import Dispatcher, Sender
from outbound.delivery.message import RetryPolicy
from outbound.delivery.whatsapp import WhatsAppSender
from outbound.settings import get_outbound_settings
from outbound.store_offers.offer_recheck import OfferRecheck
from outbound.store_offers.offer_service import OFFER_REASON, OfferService
from outbound.store_offers.store_offer import Policy


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Wiring:
    clock: Callable[[], datetime] = utc_now
    publisher: EventPublisher | None = None
    senders: Mapping[OutboundChannel, Sender] | None = None
    whatsapp_credentials: Callable[[], tuple[str, str]] | None = None


_wiring = _Wiring()


def override(
    *,
    clock: Callable[[], datetime] | None = None,
    publisher: EventPublisher | None = None,
    senders: Mapping[OutboundChannel, Sender] | None = None,
    whatsapp_credentials: Callable[[], tuple[str, str]] | None = None,
) -> None:
    """Replace the pieces given; those not given keep their current value (``reset()`` restores them all)."""
    global _wiring  # one wiring per execution environment
    _wiring = _Wiring(
        clock=clock or _wiring.clock,
        publisher=publisher if publisher is not None else _wiring.publisher,
        senders=senders if senders is not None else _wiring.senders,
        whatsapp_credentials=whatsapp_credentials or _wiring.whatsapp_credentials,
    )


def reset() -> None:
    global _wiring
    _wiring = _Wiring()


def now() -> datetime:
    return _wiring.clock()


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_outbound_settings().event_bus_name)
    return _wiring.publisher


def _table() -> str:
    return get_outbound_settings().outbound_table_name


def get_catalog() -> StoreCatalog:
    return StoreCatalog(aws_clients.dynamodb(), _table())


def get_outbox() -> OutboxStore:
    return OutboxStore(aws_clients.dynamodb(), _table())


def get_offer_store() -> OfferStore:
    return OfferStore(aws_clients.dynamodb(), _table())


def get_offer_tickets() -> OfferTicketStore:
    return OfferTicketStore(aws_clients.dynamodb(), _table())


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
    table = settings.outbound_table_name
    return OfferService(
        offers=OfferStore(client, table),
        outbox=OutboxStore(client, table),
        customers=CustomerReader(
            client, profiles_table=settings.profiles_table_name, handoff_table=settings.handoff_table_name
        ),
        catalog=StoreCatalog(client, table),
        tickets=OfferTicketStore(client, table),
        publisher=get_publisher(),
        clock=now,
        policy=policy(),
        cap_changed=CapChanged,
        code_taken=TicketCodeTaken,
        ticket_ttl=timedelta(hours=settings.offer_ticket_ttl_hours),
    )


def _whatsapp_credentials() -> tuple[str, str]:
    if _wiring.whatsapp_credentials is not None:
        return _wiring.whatsapp_credentials()
    secret_id = get_outbound_settings().outbound_secret_id
    if not secret_id:
        return "", ""
    from aws_lambda_powertools.utilities import parameters  # imported on first use: a smaller cold start

    value: Any = parameters.get_secret(secret_id, transform="json", max_age=300)
    if not isinstance(value, dict):
        return "", ""
    return str(value.get("whatsapp_access_token") or ""), str(value.get("whatsapp_phone_number_id") or "")


def senders() -> Mapping[OutboundChannel, Sender]:
    if _wiring.senders is not None:
        return _wiring.senders
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
    table = settings.outbound_table_name
    return OfferRecheck(
        tickets=OfferTicketStore(client, table),
        carts=CartEpisodeReader(
            client, profiles_table=settings.profiles_table_name, carts_table=settings.carts_table_name
        ),
        stock=StoreCatalog(client, table),
        offers=OfferStore(client, table),
        clock=now,
        offer_reason=OFFER_REASON,
    )


def get_dispatcher() -> Dispatcher:
    settings = get_outbound_settings()
    recheck = get_offer_recheck()
    return Dispatcher(
        outbox=get_outbox(),
        senders=senders(),
        clock=now,
        retry=RetryPolicy(max_attempts=settings.delivery_max_attempts),
        precondition=recheck,
        on_cancel=recheck.cancelled,
    )
