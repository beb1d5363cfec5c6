"""Where an identifier enters capture: one cleaning and placeholder rule for userId, anonymousId, alias previousId,
groupId, traits and context.externalIds, and the provenance each source gives its identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from capture.logic.capture_service import IncomingEvent
from capture.logic.segment_message import BatchDefaults, MessageProblem, to_canonical
from capture.logic.webhooks.mapping import MappingContext
from capture.logic.webhooks.pos import map_pos, parse_pos_payload
from capture.secrets import CaptureSecrets, WriteKeySource
from omnichannel.identifiers import IdentifierType, Provenance

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLIENT = BatchDefaults(source=WriteKeySource(source="web-shop"), received_at=RECEIVED)
SERVER = BatchDefaults(source=WriteKeySource(source="back-office", trust="server"), received_at=RECEIVED)

# Every spelling of "nothing" that was once stored as a customer id (issue 12, finding 6).
PLACEHOLDERS: list[Any] = [
    "anonymous",
    "null",
    "0",
    "guest",
    "[object Object]",
    "NaN",
    "None",
    "unknown",
    " ",
    "00000000-0000-0000-0000-000000000000",
    "(null)",
    "<null>",
    "true",
    "false",
    "{}",
    "[]",
    "undefined undefined",
    "user",
    "\u200b",
    "\ufeffnull\u200b",
    "9774d56d682e549c",
]


def _result(raw: dict[str, Any], defaults: BatchDefaults = CLIENT) -> IncomingEvent | list[MessageProblem]:
    return to_canonical({"messageId": "m-1", **raw}, defaults)


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_a_placeholder_user_id_is_never_a_customer_id(placeholder: str) -> None:
    # Given a call whose userId is a placeholder and which has nothing else to go by
    refused = _result({"type": "identify", "userId": placeholder})
    # Then it is refused, naming the field
    assert isinstance(refused, list)
    assert [problem.field for problem in refused] == ["userId"]
    # And with a real anonymous id beside it, it is kept without the placeholder
    kept = _result({"type": "identify", "userId": placeholder, "anonymousId": "0b6f8a9e-3a57-4f5e-9d1a-2b8c7e4f6a10"})
    assert isinstance(kept, IncomingEvent)
    assert IdentifierType.USER_ID not in kept.event.identifiers


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_an_alias_to_a_placeholder_is_refused_naming_previous_id(placeholder: str) -> None:
    refused = _result({"type": "alias", "userId": "c-42", "previousId": placeholder})
    assert isinstance(refused, list)
    assert [problem.field for problem in refused] == ["previousId"]


def test_previous_id_is_cleaned_as_the_same_anonymous_id_would_be() -> None:
    alias = _result({"type": "alias", "userId": "c-42", "previousId": "  anon-7\u200b "})
    track = _result({"type": "track", "event": "x", "anonymousId": "anon-7"})
    assert isinstance(alias, IncomingEvent)
    assert isinstance(track, IncomingEvent)
    assert alias.event.previous_id == track.event.identifiers[IdentifierType.ANONYMOUS_ID] == "anon-7"


@pytest.mark.parametrize("placeholder", ["null", "[object Object]", "\u200b", "undefined undefined"])
def test_a_placeholder_group_id_is_refused_naming_group_id(placeholder: str) -> None:
    refused = _result({"type": "group", "userId": "c-42", "groupId": placeholder})
    assert isinstance(refused, list)
    assert [problem.field for problem in refused] == ["groupId"]


@pytest.mark.parametrize("value", [True, False, 1.5])
def test_a_json_boolean_or_float_user_id_is_refused_naming_the_field(value: Any) -> None:
    refused = _result({"type": "identify", "userId": value, "anonymousId": "anon-1"})
    assert isinstance(refused, list)
    assert {problem.field for problem in refused} == {"userId"}


@pytest.mark.parametrize("placeholder", ["null", "\u200b", "[object Object]"])
def test_placeholders_in_traits_and_external_ids_are_dropped(placeholder: str) -> None:
    kept = _result(
        {
            "type": "identify",
            "userId": "c-42",
            "traits": {"loyaltyCard": placeholder, "email": placeholder},
            "context": {"externalIds": [{"type": "loyalty_card", "id": placeholder, "collection": "users"}]},
        }
    )
    assert isinstance(kept, IncomingEvent)
    assert set(kept.event.identifiers) == {IdentifierType.USER_ID}


def test_a_client_write_key_asserts_a_server_key_verifies() -> None:
    message = {"type": "identify", "userId": "c-42", "traits": {"email": "ayse@posta.com.tr"}}
    client = _result(message)
    server = _result(message, SERVER)
    assert isinstance(client, IncomingEvent)
    assert isinstance(server, IncomingEvent)
    assert (client.event.provenance, server.event.provenance) == (Provenance.ASSERTED, Provenance.VERIFIED)


def test_write_keys_are_clients_unless_configured_as_servers() -> None:
    secrets = CaptureSecrets.model_validate(
        {
            "write_keys": {"web": {"source": "web"}, "erp": {"source": "erp", "trust": "server"}},
            "bootstrap_write_key": "b",
        }
    )
    assert [secrets.source_for_write_key(key).provenance for key in ("web", "erp", "b")] == [  # type: ignore[union-attr]
        Provenance.ASSERTED,
        Provenance.VERIFIED,
        Provenance.ASSERTED,
    ]


def test_a_store_sale_is_verified() -> None:
    record = parse_pos_payload(
        b'{"type": "sale", "transaction_id": "T-1", "occurred_at": "2026-11-23T11:00:00Z", "currency": "TRY",'
        b' "total": "10.00", "customer": {"loyalty_card": "LC-1"}, "items": []}'
    )
    mapped = map_pos(record, "kadikoy", MappingContext(received_at=RECEIVED), "{}")
    assert [incoming.event.provenance for incoming in mapped.events] == [Provenance.VERIFIED]
