"""schemathesis against every generated OpenAPI document, through the local runtime (in-process AWS, port 0).

For each operation of each document it sends schema-valid requests and schema-breaking ones (wrong types, missing
fields, values out of range) and checks every answer: never a 5xx, a status the document lists, the documented
content type, a body that matches the documented schema. Examples are bounded (``EXAMPLES`` per operation and mode,
derandomised: the same requests on every run) so it stays well within a minute.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local_runtime.runtime import LocalRuntime
from tests.e2e.conftest import TEMPLATE
from tests.support.openapi_docs import DOCS

EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DOCUMENTS = sorted(path.name for path in DOCS.glob("openapi*.json"))


@dataclass
class Findings:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    largest_body: int = 0


@pytest.fixture(scope="module")
def served() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield rt


def _headers(rt: LocalRuntime, document: str) -> dict[str, str]:
    if document == "openapi.json":
        return {"Authorization": "Basic " + base64.b64encode(b"dev-write-key:").decode()}
    # An admin holds every role; the anonymous cart routes read X-Anonymous-Id.
    return {
        "Authorization": "Bearer " + rt.token("admin", sub="fuzz-admin"),
        "X-Anonymous-Id": "f0220d1e-0000-4000-8000-000000000001",
    }  # a UUIDv4


def _exercise(rt: LocalRuntime, document: str) -> Findings:
    schema = schemathesis.openapi.from_dict(json.loads((DOCS / document).read_text(encoding="utf-8")))
    session = requests.Session()
    session.trust_env = False  # no proxy between us and 127.0.0.1
    headers = _headers(rt, document)
    found = Findings()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err (a broken document) raises here
        cases = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=2 * EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def run(case: Any) -> None:
            try:
                response = case.call(base_url=rt.base_url, session=session, headers=headers, timeout=30)
            except (ValueError, requests.exceptions.InvalidHeader, UnicodeEncodeError):
                return  # a request no HTTP client can send (a header with a newline, say)
            found.requests += 1
            found.statuses[response.status_code] = found.statuses.get(response.status_code, 0) + 1
            found.largest_body = max(found.largest_body, len(response.content))
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as failure:  # every finding is reported, not only the first
                found.failures.append(f"{case.operation.label}: {str(failure)[:800]}")

        run()
    return found


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_answer_conforms_to_its_document(served: LocalRuntime, document: str) -> None:
    # Given the committed document of one API, served by the local runtime
    started = time.monotonic()

    # When schemathesis sends valid and invalid requests to every operation
    found = _exercise(served, document)

    # Then no answer is a 5xx or breaks the document (status, content type, body schema)
    elapsed = time.monotonic() - started
    print(  # the figures for the record (pytest -s)
        f"{document}: {found.requests} requests in {elapsed:.1f} s, statuses {dict(sorted(found.statuses.items()))}, "
        f"largest body {found.largest_body / 1024:.1f} KB"
    )
    assert found.requests > 0
    assert not found.failures, "\n".join(found.failures[:20])
