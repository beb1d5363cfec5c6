"""The journeys part of template.yaml: its table's sparse due index, the definitions layer on every journeys
function, a read-only staff API, a public survey route that can write only the journeys table, and the only
outside read being the profiles table."""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import EventPattern

from tests.infrastructure.cfn_template import as_list, functions, load_template

TEMPLATE = load_template()
JOURNEY_FUNCTIONS = {
    f.logical_id: f for f in functions(TEMPLATE) if f.properties.get("CodeUri") == "functions/journeys/"
}


def _statements(function_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in as_list(JOURNEY_FUNCTIONS[function_id].properties.get("Policies")):
        if isinstance(policy, dict) and "Statement" in policy:
            found += as_list(policy["Statement"])
    return found


def _dynamodb_actions(function_id: str, table: str) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(function_id):
        resources = as_list(statement.get("Resource"))
        if {"Fn::GetAtt": [table, "Arn"]} in resources:
            actions |= {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
    return actions


def test_the_journeys_table_has_a_sparse_keys_only_due_index() -> None:
    table = TEMPLATE["Resources"]["JourneysTable"]["Properties"]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_due"
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["due_pk", "due_sk"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_every_journeys_function_carries_the_definitions_layer() -> None:
    assert set(JOURNEY_FUNCTIONS) == {
        "JourneysEventsFunction",
        "JourneysScheduleFunction",
        "JourneysApiFunction",
        "JourneysSurveyFunction",
    }
    layer = TEMPLATE["Resources"]["JourneyDefinitionsLayer"]
    assert layer["Properties"]["ContentUri"] == "journeys/"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    for function in JOURNEY_FUNCTIONS.values():
        assert {"Ref": "JourneyDefinitionsLayer"} in as_list(function.properties["Layers"])


def test_the_staff_api_reads_only_and_the_public_survey_route_writes_only_its_table() -> None:
    assert _dynamodb_actions("JourneysApiFunction", "JourneysTable") == {"dynamodb:GetItem", "dynamodb:Query"}
    survey = _dynamodb_actions("JourneysSurveyFunction", "JourneysTable")
    assert not survey & {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    for function_id in JOURNEY_FUNCTIONS:
        # the only other table any of them touches is the profiles table, to read; the bus consumer also sends to
        # its own dead-letter queue (quarantine), and to nothing else
        assert _dynamodb_actions(function_id, "ProfilesTable") == {"dynamodb:GetItem"}
        others = {
            resource["Fn::GetAtt"][0]
            for statement in _statements(function_id)
            for resource in as_list(statement.get("Resource"))
            if isinstance(resource, dict) and "Fn::GetAtt" in resource
        }
        own_quarantine = {"JourneysEventsDeadLetterQueue"} if function_id == "JourneysEventsFunction" else set()
        assert others <= {"JourneysTable", "ProfilesTable"} | own_quarantine
    survey_routes = JOURNEY_FUNCTIONS["JourneysSurveyFunction"].properties["Events"]
    assert all("Auth" not in event["Properties"] for event in survey_routes.values())
    api_routes = JOURNEY_FUNCTIONS["JourneysApiFunction"].properties["Events"]
    assert all(event["Properties"]["Auth"] == {"Authorizer": "OmnichannelJwt"} for event in api_routes.values())


def test_the_journeys_rule_hears_how_journeys_messages_ended_and_no_other_message() -> None:
    # Given the journeys queue's rule as the template writes it
    pattern = EventPattern.load(json.dumps(TEMPLATE["Resources"]["JourneysEventsRule"]["Properties"]["EventPattern"]))

    def event(detail_type: str, reason: str) -> Any:  # moto's EventMessageType
        return {"source": "omnichannel.handoff", "detail-type": detail_type, "detail": {"reason": reason}}

    # Then a journey's message.sent and message.failed reach the journeys, a store offer's do not, nor a request
    assert pattern.matches_event(event("message.sent", "journey:post_visit_nps"))
    assert pattern.matches_event(event("message.failed", "journey:recovery_feedback"))
    assert not pattern.matches_event(event("message.sent", "cart_abandoned_in_stock_nearby"))
    assert not pattern.matches_event(event("message.failed", "journeys-elsewhere"))
    assert not pattern.matches_event(event("message.requested", "journey:post_visit_nps"))
