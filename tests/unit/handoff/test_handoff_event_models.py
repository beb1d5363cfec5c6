"""The handoff bus events' models: what consumers may rely on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnichannel.handoff_events import (
    HANDOFF_SOURCE,
    HandoffAccepted,
    HandoffCreated,
    OutboundChannel,
    OutboundMessageRequested,
    TicketPurpose,
    handoff_event_id,
)


def test_event_ids_are_stable_per_cause() -> None:
    assert handoff_event_id("accepted", "t-1") == handoff_event_id("accepted", "t-1")
    assert handoff_event_id("accepted", "t-1") != handoff_event_id("created", "t-1")
    assert HANDOFF_SOURCE == "omnichannel.handoff"


def test_ticket_events_parse_and_ignore_later_fields() -> None:
    base = {
        "event_id": "e-1",
        "occurred_at": "2026-03-02T09:00:00Z",
        "ticket_id": "t-1",
        "code": "ABCDEFGH",
        "profile_id": "p-1",
        "from_channel": "whatsapp",
        "to_channel": "store",
        "reason": "try it on",
    }
    created = HandoffCreated.model_validate({**base, "expires_at": "2026-03-02T10:00:00Z", "new_field": 1})
    assert created.purpose is TicketPurpose.HANDOFF
    accepted = HandoffAccepted.model_validate({**base, "redeemed_by": "clerk-1", "channel": "store"})
    assert accepted.store_id is None
    with pytest.raises(ValidationError):
        HandoffAccepted.model_validate(base)  # who redeemed it is not optional


def test_outbound_message_channels_are_the_three_senders() -> None:
    message = OutboundMessageRequested.model_validate(
        {
            "event_id": "e-2",
            "occurred_at": "2026-03-02T09:00:00Z",
            "message_id": "m-1",
            "profile_id": "p-1",
            "channel": "whatsapp",
            "to": "+905321112233",
            "template": "reserve_in_store",
            "variables": {"store": "Kadıköy"},
            "reason": "cart_abandoned_in_stock_nearby",
        }
    )
    assert message.channel is OutboundChannel.WHATSAPP
    assert message.ticket_code is None
    with pytest.raises(ValidationError):
        OutboundMessageRequested.model_validate({**message.model_dump(), "channel": "pigeon"})
