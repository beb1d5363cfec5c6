"""The stores OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

from outbound.handlers.stores_api import openapi_document
from tests.support.openapi_docs import assert_in_step, documented_routes, template_routes, valid_document


def test_committed_document_is_what_the_code_generates() -> None:
    assert_in_step("openapi-stores.json", openapi_document)


def test_document_is_valid_and_covers_every_route_of_the_template() -> None:
    document = valid_document("openapi-stores.json")
    assert template_routes("OutboundStoresApiFunction") == documented_routes(document)
    put = document["paths"]["/handoff/stores/{store_id}"]["put"]
    assert put["requestBody"]["required"] is True
