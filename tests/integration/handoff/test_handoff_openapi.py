"""The handoff OpenAPI document is generated from the code (``make openapi``) and kept in step with it."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from handoff.handler import openapi_document
from tests.infrastructure.cfn_template import functions, load_template

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi-handoff.json"


def test_committed_document_is_what_the_code_generates() -> None:
    assert json.loads(DOCUMENT.read_text(encoding="utf-8")) == json.loads(openapi_document()), (
        "docs/openapi-handoff.json is stale: run `make openapi`"
    )


def test_document_is_valid_and_covers_every_route_of_the_template() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    routes = {
        (str(event["Properties"]["Method"]).lower(), event["Properties"]["Path"])
        for function in functions(load_template())
        if function.logical_id == "HandoffApiFunction"
        for event in function.properties["Events"].values()
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    redeem = document["paths"]["/handoff/tickets/{code}/redeem"]["post"]
    assert {"200", "404", "410", "429"} <= set(redeem["responses"])
    assert redeem["security"] == [{"jwt": []}]
