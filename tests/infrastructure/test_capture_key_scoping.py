"""Within the events table, each capture function may write only its own kind of item: the API new events
(``EVENT#``), the stream publisher and the relay the outbox (``OUTBOX#``), the erasure events it was named. IAM says
so with LeadingKeys. The table has no index: the erasure reads the events it is named by key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn_template import as_list, functions, load_template

WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
EXPECTED = {
    "CaptureApiFunction": {"EVENT#*"},
    "CaptureStreamPublisherFunction": {"OUTBOX#*"},
    "CaptureOutboxRelayFunction": {"OUTBOX#*"},
    "CaptureErasureFunction": {"EVENT#*"},
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


def _function(logical_id: str) -> Any:
    return next(r for r in functions(load_template()) if r.logical_id == logical_id)


def test_the_events_table_has_no_index_and_keys_only_its_own_key() -> None:
    table = load_template()["Resources"]["EventsTable"]["Properties"]
    assert "GlobalSecondaryIndexes" not in table
    assert "LocalSecondaryIndexes" not in table
    assert {definition["AttributeName"] for definition in table["AttributeDefinitions"]} == {"pk", "sk"}


def test_capture_s_erasure_reads_events_by_key_and_profiles_read_only() -> None:
    # Given capture's erasure function's DynamoDB statements
    statements = _dynamodb_statements(_function("CaptureErasureFunction").properties)
    actions = {str(action) for statement in statements for action in as_list(statement["Action"])}
    # Then it queries nothing (no index to query), and its only profiles-table right is reading owners by key
    assert "dynamodb:Query" not in actions
    assert "dynamodb:Scan" not in actions
    [profiles] = [s for s in statements if "ProfilesTable" in str(s["Resource"])]
    assert as_list(profiles["Action"]) == ["dynamodb:GetItem"]
    leading = profiles["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert set(leading) == {"ID#*", "PROFILE#*"}
    assert all("/index/" not in str(s["Resource"]) for s in statements)


def test_capture_s_erasure_is_fed_the_requests_the_profiles_stream_announces() -> None:
    resources = load_template()["Resources"]
    pattern = resources["CaptureErasureRule"]["Properties"]["EventPattern"]
    assert pattern == {
        "$or": [
            {"source": ["omnichannel.profiles"], "detail-type": ["events.erasure_requested"]},
            {
                "source": ["omnichannel.profiles"],
                "detail-type": ["bundle"],
                "detail": {"kinds": ["events.erasure_requested"]},
            },
        ]
    }
    stream = resources["ProfilesStreamPublisherFunction"]["Properties"]["Events"]["ProfileChanges"]["Properties"]
    [kept] = stream["FilterCriteria"]["Filters"]
    assert '"erasure"' in kept["Pattern"]
