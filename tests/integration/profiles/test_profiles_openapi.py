"""The profiles API's OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from profiles.handler import openapi_document

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi-profiles.json"


def test_committed_document_is_what_the_code_generates() -> None:
    assert json.loads(DOCUMENT.read_text(encoding="utf-8")) == json.loads(openapi_document()), (
        "docs/openapi-profiles.json is stale: run `make openapi`"
    )


def test_document_is_valid_and_covers_every_route_with_its_error_answers() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    assert set(document["paths"]) == {
        "/profiles",
        "/profiles/me",
        "/profiles/{profile_id}",
        "/profiles/{profile_id}/timeline",
        "/profiles/{profile_id}/merges",
        "/profiles/{profile_id}/merges/{merge_id}/undo",
    }
    erase = document["paths"]["/profiles/{profile_id}"]["delete"]
    assert {"200", "400", "401", "403", "404", "410"} <= set(erase["responses"])
    assert document["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"
