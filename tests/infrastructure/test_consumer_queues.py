"""The bus consumers' queues and the data lake in template.yaml: each consumer reads its own queue in batches with
partial failures, may quarantine only into its own dead-letter queue, only its rule may fill its queue; only the
capture API writes the lake's stream, and only the stream's role writes the lake's bucket."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn_template import Resource, as_list, functions, load_template, referenced_resource

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = functions(TEMPLATE)
SQS_CONSUMERS = [
    function
    for function in FUNCTIONS
    if any(event.get("Type") == "SQS" for event in (function.properties.get("Events") or {}).values())
]


def sqs_queue_of(function: Resource) -> str:
    [queue] = [
        referenced_resource(event["Properties"]["Queue"])
        for event in function.properties["Events"].values()
        if event.get("Type") == "SQS"
    ]
    assert queue is not None
    return queue


def dead_letter_queue_of(queue: str) -> str:
    policy = RESOURCES[queue]["Properties"]["RedrivePolicy"]
    target = referenced_resource(policy["deadLetterTargetArn"])
    assert target is not None
    return target


def statements(function: Resource) -> list[dict[str, Any]]:
    found = []
    for policy in as_list(function.properties.get("Policies")):
        if isinstance(policy, dict) and "Statement" in policy:
            found += as_list(policy["Statement"])
    return found


def test_every_bus_consumer_reads_a_queue_and_no_function_is_a_bare_rule_target() -> None:
    # Given the template's functions, Then none is an EventBridge rule target any more (one invocation per event),
    # and the eight bus consumers read queues
    assert [
        (function.logical_id, name)
        for function in FUNCTIONS
        for name, event in (function.properties.get("Events") or {}).items()
        if event.get("Type") in ("EventBridgeRule", "CloudWatchEvent")
    ] == []
    assert len(SQS_CONSUMERS) == 8


@pytest.mark.parametrize("function", SQS_CONSUMERS, ids=lambda function: function.logical_id)
def test_a_consumer_reads_its_own_queue_in_batches_and_quarantines_only_into_its_dead_letter_queue(
    function: Resource,
) -> None:
    queue = sqs_queue_of(function)
    dead_letters = dead_letter_queue_of(queue)
    [source] = [event["Properties"] for event in function.properties["Events"].values() if event.get("Type") == "SQS"]
    queue_properties = RESOURCES[queue]["Properties"]

    # Then it reports partial batch failures, the queue outlives its retries and hides a batch long enough
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= source["BatchSize"] <= 10_000
    assert source["BatchSize"] <= 10 or source["MaximumBatchingWindowInSeconds"] >= 1  # Lambda's own rule
    assert queue_properties["VisibilityTimeout"] >= 6 * function.properties["Timeout"]
    assert 2 <= queue_properties["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert queue_properties.get("SqsManagedSseEnabled") is True
    # And its quarantine is its own dead-letter queue, the only queue it may send to
    assert function.properties["Environment"]["Variables"]["QUARANTINE_QUEUE_URL"] == {"Ref": dead_letters}
    sends = [statement for statement in statements(function) if "sqs:SendMessage" in as_list(statement["Action"])]
    assert [statement["Resource"] for statement in sends] == [{"Fn::GetAtt": [dead_letters, "Arn"]}]
    # And a function with a queue has no asynchronous retry configuration left over
    assert "EventInvokeConfig" not in function.properties


@pytest.mark.parametrize("function", SQS_CONSUMERS, ids=lambda function: function.logical_id)
def test_only_the_consumer_s_own_rule_may_fill_its_queue(function: Resource) -> None:
    queue = sqs_queue_of(function)
    rules = [
        (logical_id, resource["Properties"])
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Events::Rule"
        and any(referenced_resource(target["Arn"]) == queue for target in resource["Properties"]["Targets"])
    ]
    [(rule, rule_properties)] = rules
    [target] = rule_properties["Targets"]
    assert rule_properties["EventBusName"] == {"Ref": "EventBus"}
    assert referenced_resource(target["DeadLetterConfig"]["Arn"]) == "AsyncFailureQueue"
    [policy] = [
        resource["Properties"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": queue} in resource["Properties"]["Queues"]
    ]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}}


def test_only_the_capture_api_writes_the_lake_and_only_its_stream_role_writes_the_bucket() -> None:
    writers = {
        function.logical_id
        for function in FUNCTIONS
        for statement in statements(function)
        if any(str(action).startswith("firehose:") for action in as_list(statement["Action"]))
    }
    assert writers == {"CaptureApiFunction"}
    [capture] = [function for function in FUNCTIONS if function.logical_id == "CaptureApiFunction"]
    [archive] = [s for s in statements(capture) if "firehose:PutRecordBatch" in as_list(s["Action"])]
    assert archive["Resource"] == {"Fn::GetAtt": ["RawArchiveStream", "Arn"]}
    # No function touches S3; the Firehose role writes the lake bucket and nothing else
    assert not [
        function.logical_id
        for function in FUNCTIONS
        for statement in statements(function)
        if any(str(action).startswith("s3:") for action in as_list(statement["Action"]))
    ]
    role = RESOURCES["RawArchiveRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    [policy] = role["Policies"]
    for statement in policy["PolicyDocument"]["Statement"]:
        assert all(str(action).startswith("s3:") and "Delete" not in str(action) for action in statement["Action"])
        assert {referenced_resource(resource) for resource in statement["Resource"]} == {"DataLakeBucket"}
    stream = RESOURCES["RawArchiveStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert stream["CompressionFormat"] == "GZIP"
    assert stream["Prefix"].startswith("raw/dt=!{timestamp:yyyy-MM-dd}/")


def test_the_lake_bucket_is_private_encrypted_and_expires_what_it_keeps() -> None:
    bucket = RESOURCES["DataLakeBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["RawMessages"]["ExpirationInDays"] == {"Ref": "DataLakeRetentionDays"}
    table = RESOURCES["RawMessagesTable"]["Properties"]["TableInput"]
    assert table["Parameters"]["projection.enabled"] == "true"
    assert [column["Name"] for column in table["StorageDescriptor"]["Columns"]][:2] == ["event_id", "message_id"]
