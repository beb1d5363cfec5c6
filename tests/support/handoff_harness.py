"""The handoff conversation tests' moto tables, service and fixtures: a profiles table the read-only profile
directory looks into, the handoff table, and captured events at a fixed clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from handoff.dal.conversation_store import ConversationStore, WriteConflict
from handoff.logic.conversation_service import ConversationService
from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.channel_replies import PROVIDER_CHANNELS
from omnichannel.identifiers import IdentifierType, Provenance
from omnichannel.profile_directory import ProfileDirectory
from tests.support.moto_tables import create_table, table_properties

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def handoff_tables() -> Iterator[Any]:
    """A moto DynamoDB client with the handoff table (``handoff``) and the profiles table (``profiles``)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, "handoff", table_properties("HandoffTable"))
        create_table(client, "profiles", table_properties("ProfilesTable"))
        yield client


def conversation_service(client: Any) -> ConversationService:
    return ConversationService(
        store=ConversationStore(client, "handoff"),
        directory=ProfileDirectory("profiles", client),
        clock=lambda: T0,
        conflict=WriteConflict,
        sleep=lambda _seconds: None,
    )


def own(client: Any, profile_id: str, kind: IdentifierType, value: str) -> None:
    """What the profiles function stores: the identifier's index item and the profile item."""
    client.put_item(
        TableName="profiles",
        Item={"pk": {"S": f"ID#{kind.value}#{value}"}, "sk": {"S": "ID"}, "profile_id": {"S": profile_id}},
    )
    client.put_item(TableName="profiles", Item={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "PROFILE"}})


def event(
    name: str, channel: Channel, identifiers: dict[IdentifierType, str], minutes: int = 0, **props: Any
) -> CanonicalEvent:
    """A captured track event ``minutes`` after T0; on a provider channel (WhatsApp, SMS, Messenger, Instagram,
    phone) a signed webhook's, as capture stamps them (verified)."""
    return CanonicalEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        source="test",
        type=EventType.TRACK,
        name=name,
        channel=channel,
        identifiers=identifiers,
        occurred_at=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
        provenance=Provenance.VERIFIED if channel in PROVIDER_CHANNELS else Provenance.ASSERTED,
        properties=props,
    )
