"""Builds the handoff pieces from settings and AWS clients, once per execution environment.

Tests replace them with ``override(...)`` (a fake clock, an in-memory publisher).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handoff.dal.context_reader import ContextReader
from handoff.dal.conversation_store import ConversationStore, WriteConflict
from handoff.dal.redeem_guard import RedeemGuard
from handoff.dal.task_store import TaskStore
from handoff.dal.ticket_store import TicketStore
from handoff.logic.conversation_service import ConversationService
from handoff.logic.handoff_service import HandoffService
from handoff.settings import get_settings
from omnichannel import aws_clients
from omnichannel.event_bus import EventBridgePublisher, EventPublisher
from omnichannel.profile_directory import ProfileDirectory
from omnichannel.timeline_reader import TimelineReader


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    clock: Callable[[], datetime] = utc_now
    publisher: EventPublisher | None = None
    conversations: ConversationService | None = None


_wiring = Wiring()


def override(*, clock: Callable[[], datetime] | None = None, publisher: EventPublisher | None = None) -> None:
    global _wiring  # one wiring per execution environment
    _wiring = Wiring(clock=clock or utc_now, publisher=publisher)


def reset() -> None:
    override()


def now() -> datetime:
    return _wiring.clock()


def get_publisher() -> EventPublisher:
    if _wiring.publisher is None:
        _wiring.publisher = EventBridgePublisher(aws_clients.events(), get_settings().event_bus_name)
    return _wiring.publisher


def get_conversations() -> ConversationService:
    if _wiring.conversations is None:
        settings = get_settings()
        client = aws_clients.dynamodb()
        _wiring.conversations = ConversationService(
            store=ConversationStore(client, settings.handoff_table_name),
            directory=ProfileDirectory(settings.profiles_table_name, client),
            clock=now,
            conflict=WriteConflict,
            dedupe_window=timedelta(hours=settings.dedupe_window_hours),
        )
    return _wiring.conversations


def get_context_reader() -> ContextReader:
    settings = get_settings()
    return ContextReader(
        aws_clients.dynamodb(), profiles_table=settings.profiles_table_name, carts_table=settings.carts_table_name
    )


def get_timeline_reader() -> TimelineReader:
    settings = get_settings()
    return TimelineReader(
        aws_clients.dynamodb(),
        settings.profiles_table_name,
        settings.events_table_name,
        default_region=settings.default_phone_region,
    )


def timeline_limit() -> int:
    return get_settings().timeline_limit


def get_tickets() -> TicketStore:
    return TicketStore(get_settings().handoff_table_name, aws_clients.dynamodb(), clock=now)


def get_tasks() -> TaskStore:
    return TaskStore(aws_clients.dynamodb(), get_settings().handoff_table_name)


def get_handoff() -> HandoffService:
    return HandoffService(tickets=get_tickets(), clock=now)


def get_redeem_guard() -> RedeemGuard:
    settings = get_settings()
    return RedeemGuard(
        aws_clients.dynamodb(),
        settings.handoff_table_name,
        limit=settings.redeem_failure_limit,
        window_seconds=settings.redeem_failure_window_seconds,
    )
