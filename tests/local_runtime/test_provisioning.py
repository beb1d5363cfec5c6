"""Resources created in moto from the template's own Properties; functions get their resolved environment."""

from __future__ import annotations

import json
import logging

import pytest

from local_runtime import LocalRuntime
from tests.local_runtime.support import CONFIG, TEMPLATE


def test_table_is_created_from_its_template_properties(runtime: LocalRuntime) -> None:
    # Given the fixture template's RecordsTable (keys, a GSI, TTL, a stream, on-demand billing)
    dynamodb = runtime.client("dynamodb")
    name = runtime.table_name("RecordsTable")
    # When moto describes it
    table = dynamodb.describe_table(TableName=name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    # Then it has exactly what the template declares, under a stack-prefixed name
    assert name == "omnichannel-local-RecordsTable"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_kind"
    assert index["KeySchema"] == [
        {"AttributeName": "kind", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert runtime.resource_attribute("RecordsTable", "Arn") == table["TableArn"]
    assert runtime.resource_attribute("RecordsTable", "StreamArn") == table["LatestStreamArn"]


def test_bus_queues_archive_and_conditions(runtime: LocalRuntime) -> None:
    # Given the fixture template (ProdOnlyTable exists only when Stage is prod)
    events = runtime.client("events")
    # When moto is asked what exists
    buses = [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]
    archives = events.list_archives()["Archives"]
    tables = runtime.client("dynamodb").list_tables()["TableNames"]
    queue_url = runtime.resource_ref("WorkQueue")
    attributes = runtime.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    # Then the bus (Ref = its name), its archive and the queue with its redrive policy exist; the prod table does not
    assert runtime.resource_ref("Bus") == "omnichannel-local-bus"
    assert "omnichannel-local-bus" in buses
    assert [archive["EventSourceArn"] for archive in archives] == [runtime.resource_attribute("Bus", "Arn")]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": runtime.resource_attribute("WorkDeadLetterQueue", "Arn"),
        "maxReceiveCount": 2,
    }
    assert attributes["VisibilityTimeout"] == "0"
    assert "ProdOnlyTable" not in runtime.stack.resources
    assert not any("ProdOnly" in table for table in tables)


def test_secrets_hold_the_dev_config_value_or_a_generated_one(runtime: LocalRuntime) -> None:
    # Given ApiSecret (value in dev-config.json) and GeneratedSecret (only GenerateSecretString)
    secrets = runtime.client("secretsmanager")
    # When both are read back through their Ref (an ARN)
    configured = json.loads(secrets.get_secret_value(SecretId=runtime.resource_ref("ApiSecret"))["SecretString"])
    generated = json.loads(secrets.get_secret_value(SecretId=runtime.resource_ref("GeneratedSecret"))["SecretString"])
    # Then the configured one is the dev-config JSON and the other follows its template
    assert runtime.resource_ref("ApiSecret").startswith(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ApiSecret"
    )
    assert configured == {"write_keys": {"fixture-key": {"source": "fixture"}}}
    assert generated["user"] == "app"
    assert len(generated["password"]) == 24
    assert generated["password"].isalnum()


def test_function_environment_is_globals_plus_its_own_with_intrinsics_resolved(runtime: LocalRuntime) -> None:
    # Given the echo function, whose variables use Sub, FindInMap, If, GetAtt, Select, Join, Ref and NoValue
    # When its environment is looked at
    env = runtime.functions["EchoFunction"].environment
    # Then Globals and its own variables are merged and resolved; dev-config overrides the Greeting parameter
    assert env["STAGE"] == "dev"
    assert env["SHARED_SETTING"] == "from-globals"
    assert env["BUS_NAME"] == "omnichannel-local-bus"
    assert env["RECORDS_TABLE"] == "omnichannel-local-RecordsTable"
    assert env["GREETING"] == "hi from omnichannel-local in eu-west-1"
    assert env["LOG_LEVEL"] == "DEBUG"
    assert env["MODE"] == "sandbox"
    assert env["TABLE_ARN"] == runtime.resource_attribute("RecordsTable", "Arn")
    assert env["ZONE"] == "b"
    assert env["JOINED"] == "dev/7"
    assert env["SECRET_ARN"] == runtime.resource_ref("ApiSecret")
    assert env["WORK_QUEUE_URL"] == runtime.resource_ref("WorkQueue")
    assert "OPTIONAL" not in env
    # And Lambda's own variables are there; in-process mode points no endpoint anywhere (mock_aws intercepts)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "omnichannel-local-EchoFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "echo_app.handler.lambda_handler"
    assert "AWS_ENDPOINT_URL" not in env


def test_parameters_passed_to_start_override_the_config() -> None:
    # Given Stage=prod passed to the runtime
    # When it starts
    with LocalRuntime.start(TEMPLATE, config=CONFIG, parameters={"Stage": "prod"}) as runtime:
        # Then conditions follow: the prod table exists and If picks the prod branch
        assert runtime.table_name("ProdOnlyTable") == "omnichannel-local-ProdOnlyTable"
        env = runtime.functions["EchoFunction"].environment
        assert env["MODE"] == "live"
        assert env["OPTIONAL"] == "set"
        assert env["LOG_LEVEL"] == "INFO"


def test_unknown_resource_types_warn_once_per_type_and_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    # Given a template with two resources of a type the runtime does not emulate and one without local effect
    caplog.set_level(logging.INFO, logger="local_runtime")
    # When the runtime starts
    with LocalRuntime.start(TEMPLATE, config=CONFIG) as runtime:
        # Then it did not crash, warned once for the type, and only noted the IAM-like one (in one line for all)
        warnings = [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "AWS::Custom::Thing" in r.getMessage()
        ]
        assert len(warnings) == 1
        assert "not emulated" in warnings[0]
        assert any(
            "AWS::Events::EventBusPolicy" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records
        )
        assert runtime.stack.resources["Mystery"].created is False
        assert runtime.resource_ref("AnotherMystery") == "AnotherMystery"
