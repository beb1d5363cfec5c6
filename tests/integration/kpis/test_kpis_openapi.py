"""The KPI API's OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from kpis.handlers.api import openapi_document
from tests.support.openapi_docs import assert_in_step, valid_document


def test_committed_kpi_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi-kpis.json", openapi_document)


def test_kpi_document_is_valid_and_covers_every_route() -> None:
    document = valid_document("openapi-kpis.json")
    for path in (
        "/kpis",
        "/kpis/cohorts",
        "/kpis/customers/{customer_id}",
        "/kpis/profiles/{profile_id}",
        "/kpis/spend",
        "/kpis/campaigns",
        "/kpis/lifecycle",
    ):
        assert path in document["paths"], path
    assert "requestBody" in document["paths"]["/kpis/spend"]["post"]
    # every view documents its CSV form, and /kpis its comparison
    for path in ("/kpis", "/kpis/cohorts", "/kpis/campaigns", "/kpis/lifecycle"):
        assert "text/csv" in document["paths"][path]["get"]["responses"]["200"]["content"], path
    names = {parameter["name"] for parameter in document["paths"]["/kpis"]["get"]["parameters"]}
    assert {"compare", "attribution_model", "lookback_days", "distinct"} <= names
