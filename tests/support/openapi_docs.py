"""What every API's OpenAPI test checks: the committed ``docs/<name>`` is what the code generates (``make
openapi``), it is valid OpenAPI, and (for documents of one function) it documents exactly that function's routes in
template.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from tests.infrastructure.cfn_template import functions, load_template

DOCS = Path(__file__).resolve().parents[2] / "docs"


def assert_in_step(name: str, generate: Callable[[], str]) -> None:
    committed = json.loads((DOCS / name).read_text(encoding="utf-8"))
    assert committed == json.loads(generate()), f"docs/{name} is stale: run `make openapi`"


def valid_document(name: str) -> dict[str, Any]:
    """The committed document, after checking it is valid OpenAPI."""
    document: dict[str, Any] = json.loads((DOCS / name).read_text(encoding="utf-8"))
    validate(document)
    return document


def template_routes(logical_id: str) -> set[tuple[str, str]]:
    """(method, path) of every HttpApi event of a function in template.yaml."""
    return {
        (str(event["Properties"]["Method"]).lower(), event["Properties"]["Path"])
        for function in functions(load_template())
        if function.logical_id == logical_id
        for event in function.properties["Events"].values()
    }


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}
