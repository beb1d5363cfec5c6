"""Within the events table, each capture function may write only its own kind of item: the API new events
(``EVENT#``), the stream publisher and the relay the outbox (``OUTBOX#``). IAM says so with LeadingKeys."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn_template import as_list, functions, load_template

WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
EXPECTED = {
    "CaptureApiFunction": {"EVENT#*"},
    "CaptureStreamPublisherFunction": {"OUTBOX#*"},
    "CaptureOutboxRelayFunction": {"OUTBOX#*"},
}


def _dynamodb_statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for policy in as_list(properties.get("Policies")):
        if isinstance(policy, dict) and "Statement" in policy:
            statements += [
                s
                for s in as_list(policy["Statement"])
                if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
            ]
    return statements


@pytest.mark.parametrize(("function", "prefixes"), sorted(EXPECTED.items()))
def test_writes_are_scoped_to_the_functions_own_items(function: str, prefixes: set[str]) -> None:
    resource = next(r for r in functions(load_template()) if r.logical_id == function)
    writing = [s for s in _dynamodb_statements(resource.properties) if WRITES & set(as_list(s["Action"]))]
    assert writing, f"{function} writes nothing?"
    for statement in writing:
        leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        assert set(as_list(leading)) == prefixes, f"{function}: {statement.get('Sid')} is not scoped to {prefixes}"
