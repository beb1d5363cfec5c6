from __future__ import annotations

import pytest
from pydantic import ValidationError

from capture.logic.webhooks import meta_messaging, pos, twilio, whatsapp
from capture.secrets import WEBHOOK_SOURCES, CaptureSecrets
from omnichannel.canonical_event import Channel


def test_reserved_names_are_exactly_the_webhook_sources() -> None:
    assert {whatsapp.SOURCE, twilio.SOURCE, pos.SOURCE, Channel.MESSENGER.value, Channel.INSTAGRAM.value} == set(
        WEBHOOK_SOURCES
    )
    assert meta_messaging is not None


@pytest.mark.parametrize("source", ["whatsapp", "POS", "twilio"])
def test_a_write_key_cannot_take_a_webhook_source(source: str) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        CaptureSecrets.model_validate({"write_keys": {"k": {"source": source}}})


def test_write_keys_and_bootstrap_key() -> None:
    secrets = CaptureSecrets.model_validate(
        {"write_keys": {"k": {"source": "web", "channel": "web"}}, "bootstrap_write_key": "b"}
    )
    assert secrets.source_for_write_key("k") is not None
    assert secrets.source_for_write_key("b") is not None
    assert secrets.source_for_write_key("nope") is None
