"""Operations in template.yaml: an alarm on every dead-letter queue, every quarantine, every outbox that can
dead-letter and every consumer's lag, all notifying one topic; one dashboard showing events in and out, each
consumer's lag, errors and throttles."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infrastructure.cfn_template import functions, load_template, referenced_resource

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = functions(TEMPLATE)
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _dimension(alarm: dict[str, Any]) -> Any:
    [dimension] = alarm["Dimensions"]
    return dimension["Value"]


def alarmed(namespace: str, metric: str) -> list[Any]:
    """The dimension values alarmed on for one metric."""
    return [
        _dimension(alarm)
        for alarm in ALARMS.values()
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
    ]


DEAD_LETTER_QUEUES = sorted(
    {
        str(referenced_resource(resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
    }
    | {"AsyncFailureQueue"}
)
CONSUMER_QUEUES = sorted(
    str(referenced_resource(event["Properties"]["Queue"]))
    for function in FUNCTIONS
    for event in (function.properties.get("Events") or {}).values()
    if event.get("Type") == "SQS"
)
STREAM_FUNCTIONS = sorted(
    function.logical_id
    for function in FUNCTIONS
    if any(event.get("Type") == "DynamoDB" for event in (function.properties.get("Events") or {}).values())
)


@pytest.mark.parametrize("queue", DEAD_LETTER_QUEUES)
def test_every_dead_letter_queue_has_an_alarm(queue: str) -> None:
    assert {"Fn::GetAtt": [queue, "QueueName"]} in alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible")


@pytest.mark.parametrize("queue", CONSUMER_QUEUES)
def test_every_consumer_queue_alarms_when_its_consumer_falls_behind(queue: str) -> None:
    assert {"Fn::GetAtt": [queue, "QueueName"]} in alarmed("AWS/SQS", "ApproximateAgeOfOldestMessage")


@pytest.mark.parametrize("function", STREAM_FUNCTIONS)
def test_every_stream_consumer_alarms_when_its_iterator_ages(function: str) -> None:
    assert {"Ref": function} in alarmed("AWS/Lambda", "IteratorAge")


def test_quarantines_and_outbox_dead_letters_of_every_service_alarm() -> None:
    quarantining = sorted(
        {
            str(f.properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])
            for f in FUNCTIONS
            if "QUARANTINE_QUEUE_URL" in f.properties["Environment"]["Variables"]
        }
    )
    announcing = sorted(
        {
            str(f.properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])
            for f in FUNCTIONS
            if f.logical_id in STREAM_FUNCTIONS
        }
    )
    assert quarantining == ["capture", "carts", "handoff", "journeys", "kpis", "outbound", "profiles"]
    assert sorted(alarmed("Omnichannel", "BusEventsQuarantined")) == quarantining
    assert sorted(alarmed("Omnichannel", "OutboxDeadLettered")) == announcing


def test_every_alarm_notifies_the_operations_topic_and_treats_silence_as_fine() -> None:
    assert len(ALARMS) >= len(DEAD_LETTER_QUEUES) + len(CONSUMER_QUEUES) + len(STREAM_FUNCTIONS) + 2
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "OperationsAlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmDescription"], name


def _dashboard() -> dict[str, Any]:
    [dashboard] = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["DashboardBody"]["Fn::Sub"]
    # What !Sub fills in is a name or an ARN: a placeholder string keeps the JSON valid
    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))
    return parsed


def test_the_dashboard_shows_events_in_and_out_lag_errors_and_throttles() -> None:
    widgets = _dashboard()["widgets"]
    metrics = [metric for widget in widgets for metric in widget["properties"]["metrics"]]
    names = {(metric[0], metric[1]) for metric in metrics}
    assert {("Omnichannel", "EventsAccepted"), ("Omnichannel", "EventsPublished")} <= names
    assert {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/DynamoDB", "ThrottledRequests")} <= names
    lag = {metric[3] for metric in metrics if metric[1] in ("ApproximateAgeOfOldestMessage", "IteratorAge")}
    assert lag == {f"<{queue}.QueueName>" for queue in CONSUMER_QUEUES} | {f"<{f}>" for f in STREAM_FUNCTIONS}
    for widget in widgets:
        assert widget["properties"]["region"] == "<AWS::Region>"
