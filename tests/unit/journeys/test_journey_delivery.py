"""How a journey's message ended, without AWS: outbound's message.sent / message.failed read into what the journeys
record (only a journey's message), and the in-memory store (the harness's and the simulations') keeping the first
end once, as the DynamoDB store does (tests/integration/journeys/test_journeys_message_delivery.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journeys.dal.memory_store import InMemoryJourneyStore
from journeys.logic.delivery import counter_of, effect_id_of
from journeys.logic.inbound import Delivered, Ignore, command_for
from journeys.models.state import Change, Delivery, Effect
from tests.support.journey_memory import envelope

EVENTS = Path(__file__).resolve().parents[3] / "events"
NOW = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def _sample(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return loaded


def test_outbounds_end_of_a_journeys_message_is_read_and_anyone_elses_ignored() -> None:
    # Given the sample message.failed (the journeys' sample question, refused by WhatsApp)
    failed = _sample("outbound/message_failed.json")
    requested = _sample("journeys/message_requested.json")["detail"]

    # Then it names the message, the profile and how it ended
    ended = Delivery("failed", "2026-03-03T07:00:02.000Z", "whatsapp", "HTTP400")
    assert command_for(failed, set()) == Delivered(requested["profile_id"], requested["message_id"], ended)
    # And a message.sent of the same message reads as sent, without a code
    sent = _sample("outbound/message_sent.json")
    journeys_sent = envelope(sent["source"], "message.sent", {**sent["detail"], "reason": "journey:post_visit_nps"})
    command = command_for(journeys_sent, set())
    assert isinstance(command, Delivered)
    assert (command.delivery.state, command.delivery.channel, command.delivery.error_code) == ("sent", "whatsapp", None)
    # And a store offer's message (reason cart_abandoned_in_stock_nearby) is not the journeys' business
    assert isinstance(command_for(sent, set()), Ignore)


def test_the_memory_store_keeps_the_first_end_once_and_counts_it() -> None:
    # Given a journey's message effect
    store = InMemoryJourneyStore()
    effect = Effect(effect_id_of("m-1"), "message", "message.requested", {}, "j", "hello", "2026-03-03T07:00:00.000Z",
                    "sms", {"message_id": "m-1"})  # fmt: skip
    store.commit(store.load("p1"), Change(effects=[effect]), event_id=None, now=NOW)
    stored = store.effect("p1", effect.event_id)
    assert stored is not None
    sent = Delivery("sent", "2026-03-03T07:00:01.000Z", "sms")

    # When its end is recorded twice, then a contradicting end
    first = store.record_delivery("p1", stored, sent, counter_of(sent))
    again = store.record_delivery("p1", stored, sent, counter_of(sent))
    failed = Delivery("failed", "2026-03-03T07:30:00.000Z", "sms", "HTTP500")
    late = store.record_delivery("p1", stored, failed, counter_of(failed))

    # Then the first stands, counted once, announced, out of the due items
    assert (first, again, late) == (True, False, False)
    after = store.effect("p1", effect.event_id)
    assert after is not None
    assert after.delivery == sent
    assert after.published_at == sent.at
    assert store.due(NOW.replace(year=2027), 10) == []
    assert store.counters("j") == {"delivery:sent:sms": 1}
    # And an effect the store does not hold (erased) takes nothing
    assert store.record_delivery("gone", stored, sent, counter_of(sent)) is False
