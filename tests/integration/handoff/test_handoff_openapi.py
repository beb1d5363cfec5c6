"""The handoff OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from handoff.handlers.api import openapi_document
from tests.support.openapi_docs import assert_in_step, documented_routes, template_routes, valid_document


def test_committed_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi-handoff.json", openapi_document)


def test_document_is_valid_and_covers_every_route_of_the_template() -> None:
    document = valid_document("openapi-handoff.json")
    assert template_routes("HandoffApiFunction") == documented_routes(document)
    redeem = document["paths"]["/handoff/tickets/{code}/redeem"]["post"]
    assert {"200", "404", "410", "429"} <= set(redeem["responses"])
    assert redeem["security"] == [{"jwt": []}]
