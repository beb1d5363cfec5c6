"""The carts OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from carts.handlers.api import openapi_document
from tests.support.openapi_docs import assert_in_step, documented_routes, template_routes, valid_document


def test_committed_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi-carts.json", openapi_document)


def test_document_is_valid_and_covers_every_route_of_the_template() -> None:
    document = valid_document("openapi-carts.json")
    assert template_routes("CartsApiFunction") == documented_routes(document)
    assert "412" in document["paths"]["/carts/me/lines"]["post"]["responses"]
    assert document["paths"]["/carts/anonymous"]["get"]["security"] == [{"anonymousId": []}]
