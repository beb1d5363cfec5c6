"""The template's resources, created in moto from their own Properties, in dependency order.

Each resource gets the ``Ref`` value and ``GetAtt`` attributes CloudFormation would give it, so intrinsics that
point at it (function environments, rule targets, outputs) resolve to the names and ARNs that exist in moto.
Serverless functions, layers and HTTP APIs are not created in moto: the runtime runs them itself, but they take
part in resolution here all the same.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_runtime.template import (
    NO_VALUE,
    Intrinsics,
    Template,
    TemplateError,
    dependency_order,
    merge_globals,
    parameter_values,
)

log = logging.getLogger("local_runtime")

ClientFactory = Callable[[str], Any]

# Properties the runtime reads from these types; the rest (Policies, Role, Tracing ...) has no local effect and is
# left unresolved, so that an intrinsic the runtime cannot honour there does not stop the function from running.
RESOLVED_KEYS = {
    "AWS::Serverless::Function": (
        "FunctionName",
        "CodeUri",
        "Handler",
        "Runtime",
        "MemorySize",
        "Timeout",
        "Environment",
        "Layers",
        "Events",
        "PackageType",
        "InlineCode",
    ),
    "AWS::Serverless::HttpApi": ("Name", "StageName", "CorsConfiguration", "Auth", "DefinitionBody", "DefinitionUri"),
    "AWS::Serverless::LayerVersion": ("LayerName", "ContentUri"),
}
GLOBALS_SECTION = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::LayerVersion": "LayerVersion",
    "AWS::Serverless::SimpleTable": "SimpleTable",
}
# Types that only matter on AWS (permissions, alarms, log retention): nothing to do locally, no warning.
NO_LOCAL_EFFECT = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        # Identity: locally the development key in dev-config.json signs the tokens the JWT authorizer checks.
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolGroup",
        "AWS::Cognito::UserPoolClient",
        "AWS::Cognito::UserPoolDomain",
        "AWS::Cognito::UserPoolResourceServer",
        "AWS::Cognito::ManagedLoginBranding",
    }
)


@dataclass(frozen=True)
class StackContext:
    """Pseudo parameters of the local stack."""

    stack_name: str = "omnichannel-local"
    region: str = "eu-west-1"
    account_id: str = "123456789012"

    def pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/"
            + str(uuid.uuid5(uuid.NAMESPACE_URL, self.stack_name)),
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }

    def physical_name(self, logical_id: str, max_length: int = 255) -> str:
        """The name CloudFormation would generate, minus its random suffix: ``<stack>-<LogicalId>``."""
        return f"{self.stack_name}-{logical_id}"[:max_length]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass
class Resource:
    """One template resource as the runtime knows it: resolved properties, Ref value and GetAtt attributes."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    created: bool = True  # False: known to the runtime but not emulated (Ref/GetAtt are placeholders)


class Stack:
    """Resolves the template and creates its resources in moto through ``clients``."""

    def __init__(
        self,
        template: Template,
        clients: ClientFactory,
        *,
        context: StackContext,
        parameter_overrides: Mapping[str, Any] | None = None,
        secret_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.context = context
        self.resources: dict[str, Resource] = {}
        self._clients = clients
        self._secret_values = dict(secret_values or {})
        self._reported_types: set[str] = set()
        body = template.body
        declared = {name: spec for name, spec in (body.get("Parameters") or {}).items() if spec is not None}
        self.parameters = parameter_values(declared, parameter_overrides or {})
        self.intrinsics = Intrinsics(
            parameters=self.parameters,
            pseudo=context.pseudo_parameters(),
            ref=self._ref,
            get_att=self._get_att,
            conditions=body.get("Conditions") or {},
            mappings=body.get("Mappings") or {},
        )
        self.intrinsics.check_rules(body.get("Rules") or {})  # as CloudFormation: before anything is created

    # ------------------------------------------------------------------ resolution
    def _ref(self, logical_id: str) -> Any:
        return self.resources[logical_id].ref

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.resources[logical_id]
        if attribute in resource.attributes:
            return resource.attributes[attribute]
        if not resource.created:
            return f"{resource.ref}.{attribute}"
        raise KeyError(attribute)

    def definition(self, logical_id: str) -> dict[str, Any]:
        """The resource's raw definition with the template's Globals merged into its Properties."""
        raw = dict(self.template.resources[logical_id] or {})
        kind = str(raw.get("Type", ""))
        section = GLOBALS_SECTION.get(kind)
        properties = dict(raw.get("Properties") or {})
        if section:
            properties = merge_globals(self.template.globals.get(section) or {}, properties)
        raw["Properties"] = properties
        return raw

    def _wanted_properties(self, kind: str, properties: dict[str, Any]) -> dict[str, Any]:
        keys = RESOLVED_KEYS.get(kind)
        return properties if keys is None else {key: value for key, value in properties.items() if key in keys}

    def build(self) -> None:
        """Create every resource, dependencies first. A resource that cannot be created is reported and skipped."""
        from local_runtime.template import references

        definitions = {logical_id: self.definition(logical_id) for logical_id in self.template.resources}
        depends: dict[str, set[str]] = {}
        for logical_id, definition in definitions.items():
            wanted = self._wanted_properties(str(definition.get("Type", "")), definition["Properties"])
            extra = definition.get("DependsOn") or []
            depends[logical_id] = references(wanted) | set([extra] if isinstance(extra, str) else extra)
        for logical_id in dependency_order(depends):
            definition = definitions[logical_id]
            condition = definition.get("Condition")
            if condition and not self.intrinsics.condition(str(condition)):
                log.info("%s: condition %s is false, not created", logical_id, condition)
                continue
            kind = str(definition.get("Type", ""))
            try:
                properties = self.intrinsics.resolve(self._wanted_properties(kind, definition["Properties"]))
                self.resources[logical_id] = self._create(logical_id, kind, properties, definition)
            except (TemplateError, BotoCoreError, ClientError, KeyError, ValueError) as exc:
                log.warning("%s (%s) skipped: %s: %s", logical_id, kind, type(exc).__name__, exc)
        ignored = sorted(kind for kind in self._reported_types if kind in NO_LOCAL_EFFECT)
        if ignored:  # one line, not one per type: it is the first thing `make dev` prints
            log.info("no local effect, ignored: %s", ", ".join(ignored))

    # ------------------------------------------------------------------ creation
    def _create(self, logical_id: str, kind: str, properties: dict[str, Any], definition: dict[str, Any]) -> Resource:
        creator = CREATORS.get(kind)
        metadata = dict(definition.get("Metadata") or {})
        if creator is None:
            if kind not in self._reported_types:
                self._reported_types.add(kind)
                if kind not in NO_LOCAL_EFFECT:  # those are listed once, at the end of build()
                    log.warning(
                        "%s is not emulated by the local runtime: %s (and any other of that type) skipped",
                        kind,
                        logical_id,
                    )
            return Resource(logical_id, kind, properties, ref=logical_id, metadata=metadata, created=False)
        resource = creator(self, logical_id, properties)
        resource.metadata = metadata
        return resource

    def client(self, service: str) -> Any:
        return self._clients(service)

    def _table(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("TableName") or self.context.physical_name(logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        provisioned = request["BillingMode"] == "PROVISIONED"
        if provisioned:
            request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                request[key] = [_index(index, provisioned and key == "GlobalSecondaryIndexes") for index in props[key]]
        if props.get("StreamSpecification"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": props["StreamSpecification"]["StreamViewType"],
            }
        sse = props.get("SSESpecification")
        if sse:
            request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))} | {
                key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
            }
        if props.get("Tags"):
            request["Tags"] = props["Tags"]
        dynamodb = self.client("dynamodb")
        description = dynamodb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _truthy(ttl.get("Enabled")):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if _truthy(pitr.get("PointInTimeRecoveryEnabled")):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return Resource(logical_id, "AWS::DynamoDB::Table", props, ref=name, attributes=attributes)

    def _simple_table(self, logical_id: str, props: dict[str, Any]) -> Resource:
        key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        kind = {"String": "S", "Number": "N", "Binary": "B"}[str(key.get("Type", "String"))]
        table_props = {
            "TableName": props.get("TableName"),
            "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "BillingMode": "PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
            "ProvisionedThroughput": props.get("ProvisionedThroughput"),
            "SSESpecification": props.get("SSESpecification"),
        }
        resource = self._table(logical_id, {k: v for k, v in table_props.items() if v is not None})
        resource.type = "AWS::Serverless::SimpleTable"
        return resource

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props["Name"]
        events = self.client("events")
        arn = events.describe_event_bus(Name="default")["Arn"] if name == "default" else None
        if arn is None:
            arn = events.create_event_bus(Name=name, **_only(props, "Description"))["EventBusArn"]
        return Resource(logical_id, "AWS::Events::EventBus", props, ref=name, attributes={"Arn": arn, "Name": name})

    def _archive(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("ArchiveName") or self.context.physical_name(logical_id, 48)
        request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": props["SourceArn"]}
        request |= _only(props, "Description", "RetentionDays")
        if props.get("EventPattern"):
            request["EventPattern"] = _json_text(props["EventPattern"])
        arn = self.client("events").create_archive(**request)["ArchiveArn"]
        return Resource(logical_id, "AWS::Events::Archive", props, ref=name, attributes={"Arn": arn})

    def _queue(self, logical_id: str, props: dict[str, Any]) -> Resource:
        fifo = _truthy(props.get("FifoQueue"))
        name = props.get("QueueName") or self.context.physical_name(logical_id, 75) + (".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        for key in (
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "FifoQueue",
            "ContentBasedDeduplication",
            "KmsMasterKeyId",
            "SqsManagedSseEnabled",
        ):
            if key in props:
                value = props[key]
                attributes[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attributes[key] = _json_text(props[key])
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Resource(
            logical_id, "AWS::SQS::Queue", props, ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url}
        )

    def _secret(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("Name") or logical_id
        if logical_id in self._secret_values:
            value = self._secret_values[logical_id]
            text = value if isinstance(value, str) else json.dumps(value)
        elif "SecretString" in props:
            text = str(props["SecretString"])
        else:
            text = _generated_secret(props.get("GenerateSecretString") or {})
        response = self.client("secretsmanager").create_secret(
            Name=name, SecretString=text, **_only(props, "Description", "Tags")
        )
        return Resource(logical_id, "AWS::SecretsManager::Secret", props, ref=response["ARN"], attributes={})

    def _ssm_parameter(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("Name") or self.context.physical_name(logical_id)
        self.client("ssm").put_parameter(
            Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"), **_only(props, "Description")
        )
        attributes = {"Type": props.get("Type", "String"), "Value": props["Value"]}
        return Resource(logical_id, "AWS::SSM::Parameter", props, ref=name, attributes=attributes)

    def _rule(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("Name") or self.context.physical_name(logical_id, 64)
        request: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        request |= _only(props, "Description", "ScheduleExpression", "EventBusName")
        if props.get("EventPattern"):
            request["EventPattern"] = _json_text(props["EventPattern"])
        events = self.client("events")
        arn = events.put_rule(**request)["RuleArn"]
        targets = []
        for target in props.get("Targets") or []:
            if ":sqs:" in str(target.get("Arn")):
                targets.append(_only(target, "Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters"))
            else:
                log.warning("%s: only SQS targets of AWS::Events::Rule are emulated; %s ignored", logical_id, target)
        if props.get("ScheduleExpression"):
            log.warning("%s: schedules of plain AWS::Events::Rule do not fire locally", logical_id)
        if targets:
            events.put_targets(Rule=name, EventBusName=props.get("EventBusName", "default"), Targets=targets)
        return Resource(logical_id, "AWS::Events::Rule", props, ref=name, attributes={"Arn": arn})

    def _layer(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("LayerName") or logical_id
        arn = self.context.arn("lambda", f"layer:{name}:1")
        return Resource(logical_id, "AWS::Serverless::LayerVersion", props, ref=arn, attributes={"Arn": arn})

    def _function(self, logical_id: str, props: dict[str, Any]) -> Resource:
        name = props.get("FunctionName") or self.context.physical_name(logical_id, 64)
        arn = self.context.arn("lambda", f"function:{name}")
        return Resource(logical_id, "AWS::Serverless::Function", props, ref=name, attributes={"Arn": arn})

    def _http_api(self, logical_id: str, props: dict[str, Any]) -> Resource:
        api_id = api_id_for(logical_id)
        endpoint = f"https://{api_id}.execute-api.{self.context.region}.amazonaws.com"
        return Resource(logical_id, "AWS::Serverless::HttpApi", props, ref=api_id, attributes={"ApiEndpoint": endpoint})


CREATORS: dict[str, Callable[[Stack, str, dict[str, Any]], Resource]] = {
    "AWS::DynamoDB::Table": Stack._table,
    "AWS::Serverless::SimpleTable": Stack._simple_table,
    "AWS::Events::EventBus": Stack._event_bus,
    "AWS::Events::Archive": Stack._archive,
    "AWS::Events::Rule": Stack._rule,
    "AWS::SQS::Queue": Stack._queue,
    "AWS::SecretsManager::Secret": Stack._secret,
    "AWS::SSM::Parameter": Stack._ssm_parameter,
    "AWS::Serverless::LayerVersion": Stack._layer,
    "AWS::Serverless::Function": Stack._function,
    "AWS::Serverless::HttpApi": Stack._http_api,
}


def api_id_for(logical_id: str) -> str:
    """A stable 10-character API id, shaped like API Gateway's."""
    return uuid.uuid5(uuid.NAMESPACE_DNS, logical_id).hex[:10]


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _only(props: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: props[key] for key in keys if key in props}


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def _index(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    out = _only(index, "IndexName", "KeySchema", "Projection")
    if provisioned:
        out["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return out


def _generated_secret(spec: Mapping[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not _truthy(spec.get("ExcludePunctuation")):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    length = int(spec.get("PasswordLength", 32))
    generated = "".join(secrets.choice(alphabet) for _ in range(length))
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = generated
        return json.dumps(document)
    return generated
