"""The KPI API's OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from kpis.handler import openapi_document

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi-kpis.json"


def test_committed_kpi_document_is_what_the_code_generates() -> None:
    committed = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert committed == json.loads(openapi_document()), "docs/openapi-kpis.json is stale: run `make openapi`"


def test_kpi_document_is_valid_and_covers_every_route() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    for path in (
        "/kpis",
        "/kpis/cohorts",
        "/kpis/customers/{customer_id}",
        "/kpis/profiles/{profile_id}",
        "/kpis/spend",
    ):
        assert path in document["paths"], path
    assert "requestBody" in document["paths"]["/kpis/spend"]["post"]
