"""The OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from capture.handlers.api import openapi_document
from tests.support.openapi_docs import assert_in_step, valid_document


def test_committed_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi.json", openapi_document)


def test_document_is_valid_openapi_and_covers_every_route() -> None:
    document = valid_document("openapi.json")
    routes = ("/v1/track", "/v1/batch", "/v1/{short}", "/v1/projects/{writeKey}/settings", "/webhooks/whatsapp")
    for path in (*routes, "/webhooks/pos/{store_id}"):
        assert path in document["paths"]
    track = document["paths"]["/v1/track"]["post"]
    assert "type" not in track["requestBody"]["content"]["application/json"]["schema"]["required"]
    assert {"200", "400", "401", "413"} <= set(track["responses"])
