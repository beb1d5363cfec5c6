"""A tiny reader for template.yaml: CloudFormation short tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) become the long
form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), and SAM's Globals are merged into each function the way SAM
merges them (scalars overridden, maps merged, lists of the Globals first).

Just enough to check the template's policies in tests; SAM itself (sam validate, sam build) checks the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that understands CloudFormation's short-form intrinsic functions."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - YAML has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{tag_suffix}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template = load_yaml(path.read_text(encoding="utf-8"))
    assert isinstance(template, dict), f"{path} is not a YAML mapping"
    return template


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge key by key, lists are the Globals' entries then the resource's, scalars
    (and anything of differing kinds) take the resource's value."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]


def resources_of_type(template: dict[str, Any], *types: str) -> list[Resource]:
    return [
        Resource(logical_id, resource["Type"], resource.get("Properties") or {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") in types
    ]


def functions(template: dict[str, Any]) -> list[Resource]:
    """Every AWS::Serverless::Function with the Globals merged in, as SAM deploys it."""
    global_properties = (template.get("Globals") or {}).get("Function") or {}
    return [
        Resource(function.logical_id, function.type, merge_globals(global_properties, function.properties))
        for function in resources_of_type(template, "AWS::Serverless::Function")
    ]


def referenced_resource(value: Any) -> str | None:
    """The logical id an ARN or name expression points at: ``!Ref X``, ``!GetAtt X.Arn``, ``!Sub "${X.Arn}..."``
    (only when the Sub names exactly one resource). None for literals and anything else."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), *_ = value.items()
        if function == "Ref" and isinstance(argument, str):
            return argument
        if function == "Fn::GetAtt" and isinstance(argument, list) and argument:
            return str(argument[0])
        if function == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            if isinstance(text, str):
                names = {match.group(1) for match in _SUB_REFERENCE.finditer(text)} - {"AWS"}
                if len(names) == 1:
                    return names.pop()
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
