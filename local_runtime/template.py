"""Reading a SAM/CloudFormation template: a YAML loader for the short-form intrinsics, and their resolution.

``!Ref X`` is read as ``{"Ref": "X"}``, ``!GetAtt A.B`` as ``{"Fn::GetAtt": ["A", "B"]}`` and so on, the long form
CloudFormation itself uses. :class:`Intrinsics` then resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``,
``Fn::Select``, ``Fn::Split``, ``Fn::If``, ``Fn::Equals``, ``Fn::And``/``Or``/``Not``, ``Fn::FindInMap``,
``Fn::Base64``, ``Fn::GetAZs`` and ``Fn::ToJsonString`` against parameters, pseudo parameters and the resources
the runtime created. :meth:`Intrinsics.check_rules` asserts the template's ``Rules`` as CloudFormation does before
it creates anything (``Fn::Contains``, ``Fn::EachMemberEquals``, ``Fn::EachMemberIn`` besides the conditions).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
    # rule-specific functions (Rules section only)
    "Contains": "Fn::Contains",
    "EachMemberEquals": "Fn::EachMemberEquals",
    "EachMemberIn": "Fn::EachMemberIn",
    "RefAll": "Fn::RefAll",
    "ValueOf": "Fn::ValueOf",
    "ValueOfAll": "Fn::ValueOfAll",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template cannot be read or an intrinsic cannot be resolved."""


class _NoValue:
    """``AWS::NoValue``: the property or list item that holds it disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


class CfnLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads CloudFormation's short-form tags into their long form."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = SHORT_FORMS.get(tag_suffix)
    if name is None:
        raise TemplateError(f"unknown tag !{tag_suffix} at {node.start_mark}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            logical_id, _, attribute = str(value).partition(".")
            value = [logical_id, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


@dataclass(frozen=True)
class Template:
    """A parsed template and the folder its relative paths (CodeUri, ContentUri) start from."""

    path: Path
    body: dict[str, Any]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Resources") or {})

    @property
    def globals(self) -> dict[str, Any]:
        return dict(self.body.get("Globals") or {})


def load_template(path: str | Path) -> Template:
    """Read a template file (YAML or JSON) with the short-form intrinsics understood."""
    file = Path(path).resolve()
    try:
        body = yaml.load(file.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {file}: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise TemplateError(f"{file} has no Resources section")
    return Template(path=file, body=body)


def merge_globals(global_props: Mapping[str, Any], own_props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (the resource wins), lists concatenate (globals first), scalars are replaced."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in own_props.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict) and len(value) == 1 and next(iter(value)) in {"Ref", "Condition", *SHORT_FORMS.values()}
    )


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` refers to through Ref, GetAtt or Sub (parameters and pseudo parameters included)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if _is_intrinsic(value):
            name, argument = next(iter(value.items()))
            if name == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif name == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                if isinstance(parts, list) and parts and isinstance(parts[0], str):
                    found.add(parts[0])
            elif name == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                for match in _SUB_VARIABLE.finditer(str(text)):
                    reference = match.group(1).split(".", 1)[0]
                    if not reference.startswith("!") and reference not in variables:
                        found.add(reference)
                found |= references(variables)
            else:
                found |= references(argument)
        else:
            for item in value.values():
                found |= references(item)
    return found


RefLookup = Callable[[str], Any]
AttLookup = Callable[[str, str], Any]


class Intrinsics:
    """Resolves intrinsic functions. ``ref`` and ``get_att`` answer for resources (raise KeyError if unknown)."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        ref: RefLookup,
        get_att: AttLookup,
        conditions: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._ref = ref
        self._get_att = get_att
        self._conditions = dict(conditions or {})
        self._mappings = dict(mappings or {})
        self._condition_values: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic replaced by its value; ``AWS::NoValue`` items removed."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, dict):
            if _is_intrinsic(value) and next(iter(value)) != "Condition":
                name, argument = next(iter(value.items()))
                return self._function(name, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        return value

    def condition(self, name: str) -> bool:
        """The value of a named condition from the template's Conditions section."""
        if name not in self._condition_values:
            if name not in self._conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._condition_values[name] = self._truth(self._conditions[name])
        return self._condition_values[name]

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        try:
            return self._ref(name)
        except KeyError:
            raise TemplateError(f"!Ref {name}: no such parameter or resource") from None

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(value["Condition"])
        result = self.resolve(value)
        if isinstance(result, bool):
            return result
        if isinstance(result, str) and result.lower() in ("true", "false"):
            return result.lower() == "true"
        raise TemplateError(f"a condition must be true or false, got {result!r}")

    def _function(self, name: str, argument: Any) -> Any:
        handler = getattr(self, "_fn_" + name.removeprefix("Fn::").lower(), None)
        if handler is None:
            raise TemplateError(f"{name} is not supported by the local runtime")
        return handler(argument)

    def _fn_ref(self, argument: Any) -> Any:
        return self.ref(str(argument))

    def _fn_getatt(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
        try:
            return self._get_att(logical_id, attribute)
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: unknown resource or attribute") from None

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], self.resolve(argument[1])

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return _as_text(variables[expression])
            if "." in expression and expression.split(".", 1)[0] not in self._pseudo:
                logical_id, attribute = expression.split(".", 1)
                return _as_text(self._fn_getatt([logical_id, attribute]))
            return _as_text(self.ref(expression))

        return _SUB_VARIABLE.sub(substitute, str(text))

    def _fn_join(self, argument: Any) -> str:
        delimiter, items = argument
        values = self.resolve(items)
        if not isinstance(values, list):
            raise TemplateError("Fn::Join needs a list")
        return str(delimiter).join(_as_text(item) for item in values)

    def _fn_select(self, argument: Any) -> Any:
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        try:
            return items[int(index)]
        except (IndexError, ValueError, TypeError) as exc:
            raise TemplateError(f"Fn::Select {index} out of {items!r}") from exc

    def _fn_split(self, argument: Any) -> list[str]:
        delimiter, text = argument[0], self.resolve(argument[1])
        return str(text).split(str(delimiter))

    def _fn_if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, argument: Any) -> bool:
        left, right = (self.resolve(item) for item in argument)
        return bool(_as_text(left) == _as_text(right))

    def _fn_not(self, argument: Any) -> bool:
        return not self._truth(argument[0])

    def _fn_and(self, argument: Any) -> bool:
        return all(self._truth(item) for item in argument)

    def _fn_or(self, argument: Any) -> bool:
        return any(self._truth(item) for item in argument)

    def _fn_findinmap(self, argument: Any) -> Any:
        map_name, top, second = (self.resolve(item) for item in argument[:3])
        try:
            return self._mappings[map_name][top][second]
        except (KeyError, TypeError):
            raise TemplateError(f"Fn::FindInMap {map_name}.{top}.{second} not found") from None

    def _fn_base64(self, argument: Any) -> str:
        return base64.b64encode(_as_text(self.resolve(argument)).encode()).decode()

    def _fn_getazs(self, argument: Any) -> list[str]:
        region = self.resolve(argument) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_tojsonstring(self, argument: Any) -> str:
        return json.dumps(self.resolve(argument), separators=(",", ":"))

    def _fn_length(self, argument: Any) -> int:
        return len(self.resolve(argument))

    # ---------------------------------------------------------------- Rules
    def check_rules(self, rules: Mapping[str, Any]) -> None:
        """Assert every rule whose ``RuleCondition`` holds; the first failed assertion raises TemplateError with
        the rule's name and its ``AssertDescription`` (CloudFormation refuses the deploy the same way)."""
        for name, rule in rules.items():
            rule = rule or {}
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions") or []:
                if not self._truth(assertion["Assert"]):
                    description = assertion.get("AssertDescription") or "an assertion failed"
                    raise TemplateError(f"rule {name}: {' '.join(str(description).split())}")

    def _strings(self, value: Any) -> list[str]:
        resolved = self.resolve(value)
        return [_as_text(item) for item in (resolved if isinstance(resolved, list) else [resolved])]

    def _fn_contains(self, argument: Any) -> bool:
        values, wanted = argument
        return _as_text(self.resolve(wanted)) in self._strings(values)

    def _fn_eachmemberequals(self, argument: Any) -> bool:
        values, wanted = argument
        return all(item == _as_text(self.resolve(wanted)) for item in self._strings(values))

    def _fn_eachmemberin(self, argument: Any) -> bool:
        values, allowed = argument
        return set(self._strings(values)) <= set(self._strings(allowed))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        raise TemplateError(f"expected a string, got {value!r}")
    return str(value)


def parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Each parameter's value: the override if given, else its Default; list types become lists."""
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default; set it in dev-config.json 'parameters'")
        kind = str(spec.get("Type", "String"))
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            values[name] = raw if isinstance(raw, list) else [part.strip() for part in str(raw).split(",")]
        else:
            values[name] = _as_text(raw)
    return values


def env_text(value: Any) -> str:
    """An environment variable's value as Lambda stores it (a string)."""
    return _as_text(value)


def dependency_order(nodes: Mapping[str, Iterable[str]]) -> list[str]:
    """Nodes ordered so that each comes after the nodes it depends on (template order among equals)."""
    from graphlib import CycleError, TopologicalSorter

    sorter: TopologicalSorter[str] = TopologicalSorter()
    for node, depends_on in nodes.items():
        sorter.add(node, *(dep for dep in depends_on if dep in nodes and dep != node))
    try:
        ready_order = list(sorter.static_order())
    except CycleError as exc:
        raise TemplateError(f"circular references between resources: {exc.args[1]}") from exc
    position = {node: index for index, node in enumerate(nodes)}
    # static_order is a valid order; make it stable: repeatedly take the earliest template node that is ready.
    remaining = {node: {dep for dep in nodes[node] if dep in nodes and dep != node} for node in ready_order}
    ordered: list[str] = []
    while remaining:
        ready = min((node for node, deps in remaining.items() if not deps), key=position.__getitem__)
        ordered.append(ready)
        del remaining[ready]
        for deps in remaining.values():
            deps.discard(ready)
    return ordered
