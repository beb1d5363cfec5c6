"""The profiles API's OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from profiles.handlers.api import openapi_document
from tests.support.openapi_docs import assert_in_step, valid_document


def test_committed_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi-profiles.json", openapi_document)


def test_document_is_valid_and_covers_every_route_with_its_error_answers() -> None:
    document = valid_document("openapi-profiles.json")
    assert set(document["paths"]) == {
        "/profiles",
        "/profiles/me",
        "/profiles/{profile_id}",
        "/profiles/{profile_id}/timeline",
        "/profiles/{profile_id}/merges",
        "/profiles/{profile_id}/merges/{merge_id}/undo",
        "/profiles/{profile_id}/suggestions/{other_id}/confirm",
        "/profiles/me/verified-identifiers",
        "/profiles/blocked-identifiers",
        "/profiles/blocked-identifiers/{identifier}",
        "/profiles/suppressions/{identifier}",
    }
    erase = document["paths"]["/profiles/{profile_id}"]["delete"]
    assert {"200", "400", "401", "403", "404", "410"} <= set(erase["responses"])
    assert document["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"
