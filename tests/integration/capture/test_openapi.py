"""The OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from capture.handler import openapi_document

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_committed_document_is_what_the_code_generates() -> None:
    generated = json.loads(openapi_document())
    committed = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert committed == generated, "docs/openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi_and_covers_every_route() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    for path in ("/v1/track", "/v1/batch", "/v1/{short}", "/webhooks/whatsapp", "/webhooks/pos/{store_id}"):
        assert path in document["paths"]
    track = document["paths"]["/v1/track"]["post"]
    assert "type" not in track["requestBody"]["content"]["application/json"]["schema"]["required"]
    assert {"200", "400", "401", "413"} <= set(track["responses"])
