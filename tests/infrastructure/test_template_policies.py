"""The rules of docs/architecture.md that template.yaml must keep, checked by reading the template.

- Tables: on-demand, point-in-time recovery, encrypted, with a TTL.
- A function writes only the tables it owns, named by reference, never a wildcard; no DynamoDB ``*``.
- Every asynchronous consumer (bus rule, schedule, queue, stream) has somewhere for its failures to go.
- Every function: python3.13, the shared layer, active tracing.
- The capture function serves the Segment tracking API and the channel webhooks.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from tests.infrastructure.cfn_template import (
    Resource,
    as_list,
    functions,
    load_template,
    referenced_resource,
    resources_of_type,
)

TEMPLATE = load_template()
FUNCTIONS = functions(TEMPLATE)
FUNCTION_IDS = [function.logical_id for function in FUNCTIONS]
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")

# docs/architecture.md, "Functions, ownership, events": the tables each function writes, by the function's folder
# (CodeUri functions/<name>/). A function that gets a table adds it here, and nowhere else may it write.
OWNED_TABLES: dict[str, frozenset[str]] = {
    "capture": frozenset({"EventsTable"}),
    "profiles": frozenset({"ProfilesTable"}),
    "carts": frozenset({"CartsTable"}),
    "kpis": frozenset({"KpisTable"}),
    "handoff": frozenset({"HandoffTable"}),
    "outbound": frozenset({"OutboundTable"}),
    "journeys": frozenset({"JourneysTable"}),
}

# IAM actions that change a table's items (or the table). Patterns in a policy are matched against these.
DYNAMODB_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:RestoreTableToPointInTime",
    "dynamodb:UpdateTable",
    "dynamodb:DeleteTable",
)
# SAM policy templates that grant writes to their TableName.
DYNAMODB_WRITE_TEMPLATES = frozenset(
    {
        "DynamoDBCrudPolicy",
        "DynamoDBWritePolicy",
        "DynamoDBReconfigurePolicy",
        "DynamoDBBackupFullAccessAndRestorePolicy",
        "DynamoDBRestoreFromBackupPolicy",
    }
)
ASYNC_EVENT_TYPES = frozenset({"EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"})
STREAM_EVENT_TYPES = frozenset({"DynamoDB", "Kinesis"})

SEGMENT_PATHS = ("/v1/identify", "/v1/track", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias", "/v1/batch")
# docs/architecture.md, "Commands, ports, routes".
WEBHOOK_PATHS = (
    "/webhooks/whatsapp",
    "/webhooks/messenger",
    "/webhooks/instagram",
    "/webhooks/twilio/sms",
    "/webhooks/twilio/voice",
    "/webhooks/pos/{store_id}",
)


# ------------------------------------------------------------------------------------------ the checks


def owner_of(function: Resource) -> str:
    """The function's folder name: ``functions/capture/`` -> ``capture``."""
    code_uri = str(function.properties.get("CodeUri", ""))
    if code_uri.strip("/") == "console":  # the web console's static files (ConsoleFunction): owns no table
        return "console"
    parts = [part for part in code_uri.split("/") if part]
    if len(parts) != 2 or parts[0] != "functions":
        raise AssertionError(f"{function.logical_id}: CodeUri {code_uri!r} is not functions/<name>/")
    return parts[1]


def _is_dynamodb_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.lower().startswith("dynamodb:"))


def _writes(action: str) -> bool:
    return any(fnmatchcase(write.lower(), action.lower()) for write in DYNAMODB_WRITE_ACTIONS)


def _statement_violations(where: str, statement: dict[str, Any], tables: set[str], owned: frozenset[str]) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement or "NotResource" in statement:
        return [f"{where}: Allow with NotAction/NotResource can grant DynamoDB on anything"]
    actions = [action for action in as_list(statement.get("Action")) if _is_dynamodb_action(action)]
    if not actions:
        return []
    problems = [f"{where}: wildcard action {action!r}" for action in actions if action in ("*", "dynamodb:*")]
    writes = [action for action in actions if _writes(action)]
    for resource in as_list(statement.get("Resource")):
        table = referenced_resource(resource)
        if resource == "*" or (table is None and "*" in str(resource)):
            problems.append(f"{where}: wildcard resource {resource!r} for {actions}")
            continue
        if not writes:
            continue  # reads of other functions' tables are allowed (docs/architecture.md: read-only lookups)
        if table not in tables:
            problems.append(f"{where}: writes {resource!r}, which is not a table of this template named by reference")
        elif resource != {"Fn::GetAtt": [table, "Arn"]}:
            problems.append(f"{where}: writes {resource!r}: grant writes on the table's ARN only (!GetAtt {table}.Arn)")
        elif table not in owned:
            problems.append(f"{where}: writes {table}, which it does not own (owns: {sorted(owned) or 'nothing'})")
    return problems


def dynamodb_violations(function: Resource, template: dict[str, Any]) -> list[str]:
    """Everything in a function's permissions that breaks 'a function writes only its own table'."""
    tables = {table.logical_id for table in resources_of_type(template, *TABLE_TYPES)}
    owned = OWNED_TABLES.get(owner_of(function), frozenset())
    name = function.logical_id
    if "Role" in function.properties:
        return [f"{name}: has its own Role; give it Policies so that its permissions can be checked here"]
    problems: list[str] = []
    for index, policy in enumerate(as_list(function.properties.get("Policies"))):
        where = f"{name}.Policies[{index}]"
        if isinstance(policy, str):
            if "dynamodb" in policy.lower():
                problems.append(f"{where}: managed policy {policy!r} grants DynamoDB on every table")
            continue
        if not isinstance(policy, dict):
            problems.append(f"{where}: {policy!r} cannot be checked")
            continue
        if "Statement" in policy:
            for position, statement in enumerate(as_list(policy["Statement"])):
                problems += _statement_violations(f"{where}.Statement[{position}]", statement, tables, owned)
            continue
        for template_name, arguments in policy.items():
            if template_name not in DYNAMODB_WRITE_TEMPLATES:
                continue
            table = referenced_resource((arguments or {}).get("TableName"))
            if table not in tables:
                problems.append(f"{where}: {template_name} on {arguments!r}, not a table of this template by !Ref")
            elif table not in owned:
                problems.append(f"{where}: {template_name} on {table}, which it does not own")
    return problems


def failure_destination_problems(function: Resource, template: dict[str, Any]) -> list[str]:
    """Asynchronous event sources whose failures would be lost."""
    invoke_config = function.properties.get("EventInvokeConfig") or {}
    on_failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure")
    function_catches_failures = bool(on_failure) or bool(function.properties.get("DeadLetterQueue"))
    resources = template.get("Resources", {})
    problems = []
    for event_name, event in (function.properties.get("Events") or {}).items():
        kind, properties = event.get("Type"), event.get("Properties") or {}
        where = f"{function.logical_id}.Events.{event_name} ({kind})"
        if kind in ASYNC_EVENT_TYPES:
            if not properties.get("DeadLetterConfig") and not function_catches_failures:
                problems.append(f"{where}: no DeadLetterConfig and no EventInvokeConfig OnFailure destination")
        elif kind == "SQS":
            # A queue's failures go where its redrive policy says (EventInvokeConfig does not apply to polling).
            queue = resources.get(referenced_resource(properties.get("Queue")) or "", {})
            if not (queue.get("Properties") or {}).get("RedrivePolicy"):
                problems.append(f"{where}: the queue has no RedrivePolicy to a dead-letter queue")
        elif kind in STREAM_EVENT_TYPES and not (properties.get("DestinationConfig") or {}).get("OnFailure"):
            # A stream batch that keeps failing blocks its shard, then expires: it must be parked somewhere.
            problems.append(f"{where}: no DestinationConfig OnFailure for batches that keep failing")
    return problems


def _allows_eventbridge_to_send(policy: Resource) -> bool:
    for statement in as_list(policy.properties.get("PolicyDocument", {}).get("Statement")):
        principal = statement.get("Principal") or {}
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if (
            statement.get("Effect") == "Allow"
            and "events.amazonaws.com" in services
            and "sqs:SendMessage" in as_list(statement.get("Action"))
        ):
            return True
    return False


def dead_letter_queue_policy_problems(template: dict[str, Any]) -> list[str]:
    """A DeadLetterConfig with an ``Arn`` gets no queue policy from SAM: without one, EventBridge cannot put the
    failed event there and it is lost after all."""
    writable = {
        referenced_resource(queue)
        for policy in resources_of_type(template, "AWS::SQS::QueuePolicy")
        if _allows_eventbridge_to_send(policy)
        for queue in as_list(policy.properties.get("Queues"))
    }
    problems = []
    for function in functions(template):
        for event_name, event in (function.properties.get("Events") or {}).items():
            arn = ((event.get("Properties") or {}).get("DeadLetterConfig") or {}).get("Arn")
            if arn is not None and referenced_resource(arn) not in writable:
                problems.append(
                    f"{function.logical_id}.Events.{event_name}: no AWS::SQS::QueuePolicy lets events.amazonaws.com "
                    f"sqs:SendMessage to {referenced_resource(arn) or arn!r}"
                )
    return problems


def http_routes(function: Resource) -> set[tuple[str, str]]:
    return {
        (str(event["Properties"].get("Method", "ANY")).upper(), str(event["Properties"].get("Path")))
        for event in (function.properties.get("Events") or {}).values()
        if event.get("Type") == "HttpApi"
    }


# ------------------------------------------------------------------------------------------ the template


@pytest.mark.parametrize("table", resources_of_type(TEMPLATE, *TABLE_TYPES), ids=lambda table: table.logical_id)
def test_every_table_is_on_demand_recoverable_encrypted_and_expiring(table: Resource) -> None:
    # Given a DynamoDB table of the template
    properties = table.properties

    # Then it is billed per request, recoverable to any second of the last 35 days, encrypted, with a TTL
    assert table.type == "AWS::DynamoDB::Table", "SimpleTable cannot have PITR, SSE and TTL together"
    assert properties.get("BillingMode") == "PAY_PER_REQUEST"
    assert (properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True
    assert (properties.get("SSESpecification") or {}).get("SSEEnabled") is True
    ttl = properties.get("TimeToLiveSpecification") or {}
    assert ttl.get("Enabled") is True
    assert ttl.get("AttributeName")


def test_the_template_has_tables() -> None:
    # Given the template, Then the table checks above have something to check (the events table at least)
    assert "EventsTable" in {table.logical_id for table in resources_of_type(TEMPLATE, *TABLE_TYPES)}


@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_function_writes_only_the_tables_it_owns(function: Resource) -> None:
    # Given a function's permissions, Globals merged in
    # When they are read for DynamoDB grants
    problems = dynamodb_violations(function, TEMPLATE)

    # Then none writes a table the function does not own, uses a wildcard, or grants dynamodb:* / *
    assert problems == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_asynchronous_consumer_keeps_its_failures(function: Resource) -> None:
    # Given a function's event sources
    # Then every asynchronous one sends what it could not process to a dead-letter queue or a destination
    assert failure_destination_problems(function, TEMPLATE) == []


def test_eventbridge_may_write_to_the_dead_letter_queues() -> None:
    # Given the dead-letter queues named by ARN in the functions' events
    # Then a queue policy lets EventBridge deliver failed events there
    assert dead_letter_queue_policy_problems(TEMPLATE) == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_function_runs_python313_arm64_with_the_shared_layer_and_tracing(function: Resource) -> None:
    # Given a function, Globals merged in
    properties = function.properties
    layer = TEMPLATE["Resources"]["SharedLayer"]["Properties"]

    # Then it runs the Lambda runtime the layer is built for, with the layer, traced by X-Ray
    assert properties.get("Runtime") == "python3.13"
    assert properties.get("Runtime") in layer["CompatibleRuntimes"]
    assert {"Ref": "SharedLayer"} in as_list(properties.get("Layers"))
    assert set(as_list(properties.get("Architectures"))) <= set(layer["CompatibleArchitectures"])
    assert properties.get("Tracing") == "Active"


def test_capture_serves_the_segment_tracking_api_and_the_webhooks() -> None:
    # Given the HTTP routes of the capture function
    capture = [function for function in FUNCTIONS if owner_of(function) == "capture" and http_routes(function)]
    assert len(capture) == 1, "exactly one capture function serves HTTP"
    routes = http_routes(capture[0])

    # Then every Segment tracking API call and every channel webhook of ARCHITECTURE.md is a POST route
    missing = [path for path in (*SEGMENT_PATHS, *WEBHOOK_PATHS) if ("POST", path) not in routes]
    assert missing == []
    # And Meta's webhook verification (a GET with hub.challenge) reaches it too
    for provider in ("whatsapp", "messenger", "instagram"):
        assert ("GET", f"/webhooks/{provider}") in routes


# ------------------------------------------------------------------------------------------ the checks, checked


def _function(**properties: Any) -> Resource:
    return Resource("ProbeFunction", "AWS::Serverless::Function", {"CodeUri": "functions/capture/", **properties})


_TABLES: dict[str, Any] = {
    "Resources": {
        "EventsTable": {"Type": "AWS::DynamoDB::Table"},
        "CartsTable": {"Type": "AWS::DynamoDB::Table"},
        "Dlq": {"Type": "AWS::SQS::Queue"},
    }
}


def _statement(action: Any, resource: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param({"DynamoDBCrudPolicy": {"TableName": {"Ref": "CartsTable"}}}, id="crud-template-foreign-table"),
        pytest.param({"DynamoDBWritePolicy": {"TableName": "carts"}}, id="write-template-literal-name"),
        pytest.param(_statement("dynamodb:PutItem", {"Fn::GetAtt": ["CartsTable", "Arn"]}), id="put-foreign-table"),
        pytest.param(_statement(["dynamodb:Update*"], [{"Fn::GetAtt": ["CartsTable", "Arn"]}]), id="pattern-foreign"),
        pytest.param(_statement("dynamodb:*", {"Fn::GetAtt": ["EventsTable", "Arn"]}), id="dynamodb-star"),
        pytest.param(_statement("dynamodb:GetItem", "*"), id="read-star-resource"),
        pytest.param(_statement("dynamodb:DeleteItem", "arn:aws:dynamodb:*:*:table/*"), id="write-arn-wildcard"),
        pytest.param(
            _statement("dynamodb:BatchWriteItem", {"Fn::Sub": "${EventsTable.Arn}/index/*"}), id="write-own-indexes"
        ),
        pytest.param("AmazonDynamoDBFullAccess", id="managed-full-access"),
    ],
)
def test_the_ownership_check_catches_a_bad_grant(policy: Any) -> None:
    # Given a capture function with one bad grant
    function = _function(Policies=[policy])

    # When its permissions are checked
    problems = dynamodb_violations(function, _TABLES)

    # Then the grant is reported
    assert len(problems) >= 1, problems


def test_the_ownership_check_accepts_own_writes_and_foreign_reads() -> None:
    # Given capture writing its own table and reading another's table and indexes
    function = _function(
        Policies=[
            {"DynamoDBCrudPolicy": {"TableName": {"Ref": "EventsTable"}}},
            _statement(["dynamodb:PutItem", "dynamodb:Query"], {"Fn::GetAtt": ["EventsTable", "Arn"]}),
            _statement("dynamodb:Query", [{"Fn::Sub": "${CartsTable.Arn}/index/*"}]),
            {"DynamoDBReadPolicy": {"TableName": {"Ref": "CartsTable"}}},
        ]
    )

    # Then nothing is reported
    assert dynamodb_violations(function, _TABLES) == []


def test_the_failure_checks_catch_a_lost_failure() -> None:
    # Given a consumer of bus events with no DLQ, and a schedule whose DLQ EventBridge may not write to
    rule = {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["omnichannel.capture"]}}}
    schedule = {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(1 minute)", "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}}},
    }
    consumer = _function(Events={"Captured": rule})
    template = {**_TABLES, "Resources": {**_TABLES["Resources"], "Probe": {"Type": "AWS::Serverless::Function"}}}
    template["Resources"]["Probe"]["Properties"] = {"CodeUri": "functions/capture/", "Events": {"Tick": schedule}}

    # Then both are reported, and an OnFailure destination answers the first
    assert len(failure_destination_problems(consumer, template)) == 1
    assert len(dead_letter_queue_policy_problems(template)) == 1
    destination = {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Dlq", "Arn"]}}}
    invoke_config = {"DestinationConfig": destination}
    assert failure_destination_problems(_function(Events={"Captured": rule}, EventInvokeConfig=invoke_config), {}) == []


def test_the_failure_checks_catch_a_stream_without_a_failure_destination() -> None:
    # Given a stream consumer, first without and then with an OnFailure destination
    stream: dict[str, Any] = {"Stream": {"Fn::GetAtt": ["EventsTable", "StreamArn"]}, "StartingPosition": "LATEST"}
    destination = {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Dlq", "Arn"]}}}
    bare = _function(Events={"New": {"Type": "DynamoDB", "Properties": stream}})
    parked = _function(Events={"New": {"Type": "DynamoDB", "Properties": {**stream, "DestinationConfig": destination}}})

    # Then only the first is reported
    assert len(failure_destination_problems(bare, _TABLES)) == 1
    assert failure_destination_problems(parked, _TABLES) == []
