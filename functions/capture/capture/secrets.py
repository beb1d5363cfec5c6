"""Write keys and provider secrets, from Secrets Manager (cached by Powertools for a few minutes).

Locally the runtime creates the same secret in moto from local_runtime/dev-config.json.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnichannel.canonical_event import Channel
from omnichannel.identifiers import Provenance

# The sources the channel webhooks write under. Event ids are derived from source and message id, so a write
# key with one of these names could claim a provider's message ids ahead of the real webhook.
WEBHOOK_SOURCES = frozenset({"whatsapp", "messenger", "instagram", "twilio", "pos"})


class WriteKeySource(BaseModel):
    """What one write key stands for: a named source, optionally the channel its traffic comes from, and how far
    its word is trusted.

    ``trust``: ``client`` (the default) for a key that ships inside a browser page or an app, i.e. a public one:
    its identifiers are *asserted* and never give a customer access to anything. ``server`` for a key kept on a
    back-office server (order management, CRM export): its identifiers are *verified*, like a signed webhook's.
    """

    source: str = Field(min_length=1, max_length=64)
    channel: Channel | None = None
    trust: Literal["client", "server"] = "client"

    @property
    def provenance(self) -> Provenance:
        return Provenance.VERIFIED if self.trust == "server" else Provenance.ASSERTED

    @field_validator("source")
    @classmethod
    def _not_a_webhook_source(cls, value: str) -> str:
        if value.strip().lower() in WEBHOOK_SOURCES:
            raise ValueError(f"{value!r} is reserved for the channel webhooks")
        return value


class CaptureSecrets(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    write_keys: dict[str, WriteKeySource] = Field(default_factory=dict)
    bootstrap_write_key: str = ""
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    twilio_auth_token: str = ""
    pos_secrets: dict[str, str] = Field(default_factory=dict, description='store_id -> HMAC secret; "*" any store')

    def source_for_write_key(self, write_key: str) -> WriteKeySource | None:
        if write_key in self.write_keys:
            return self.write_keys[write_key]
        if self.bootstrap_write_key and write_key == self.bootstrap_write_key:
            return WriteKeySource(source="default")
        return None

    def pos_secret(self, store_id: str) -> str | None:
        return self.pos_secrets.get(store_id) or self.pos_secrets.get("*")


def load_secrets(secret_id: str, max_age: int) -> CaptureSecrets:
    from aws_lambda_powertools.utilities import parameters  # imported on first use: a smaller cold start

    value: Any = parameters.get_secret(secret_id, transform="json", max_age=max_age)
    return CaptureSecrets.model_validate(value)
