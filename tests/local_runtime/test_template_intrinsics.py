"""Reading templates: the short-form YAML tags, intrinsic functions, Globals and dependency order."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from local_runtime.template import (
    CfnLoader,
    Intrinsics,
    TemplateError,
    dependency_order,
    load_template,
    merge_globals,
    parameter_values,
    references,
)
from tests.local_runtime.support import TEMPLATE

RESOURCES = {
    "Table": {"ref": "orders-table", "Arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-table"},
    "Bus": {"ref": "the-bus", "Arn": "arn:aws:events:eu-west-1:123456789012:event-bus/the-bus"},
}


def _intrinsics(parameters: dict[str, Any] | None = None) -> Intrinsics:
    return Intrinsics(
        parameters=parameters or {"Stage": "dev", "Zones": ["a", "b", "c"], "Days": "7"},
        pseudo={"AWS::Region": "eu-west-1", "AWS::StackName": "stack", "AWS::AccountId": "123456789012"},
        ref=lambda name: RESOURCES[name]["ref"],
        get_att=lambda name, attribute: RESOURCES[name][attribute],
        conditions={
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "DevInIreland": {
                "Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}]
            },
        },
        mappings={"Sizes": {"dev": {"Memory": 256}}},
    )


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass


def test_short_form_tags_read_as_their_long_form() -> None:
    # Given YAML with short-form intrinsics, scalar and sequence forms
    text = """
    a: !Ref Table
    b: !GetAtt Table.Arn
    c: !Sub "${Bus}-x"
    d: !If [IsProd, 1, 2]
    e: !Join [",", [!Ref Stage, !GetAtt [Bus, Arn]]]
    """
    # When it is loaded
    loaded = _yaml(text)
    # Then each tag is the long form CloudFormation uses
    assert loaded == {
        "a": {"Ref": "Table"},
        "b": {"Fn::GetAtt": ["Table", "Arn"]},
        "c": {"Fn::Sub": "${Bus}-x"},
        "d": {"Fn::If": ["IsProd", 1, 2]},
        "e": {"Fn::Join": [",", [{"Ref": "Stage"}, {"Fn::GetAtt": ["Bus", "Arn"]}]]},
    }


def test_sub_resolves_parameters_pseudo_parameters_attributes_variables_and_escapes() -> None:
    # Given a Sub using every kind of variable
    value = _yaml("""!Sub
      - "${AWS::StackName}-${Stage}/${Table.Arn}/index/* ${Bus} ${Extra} ${!Literal} ${AWS::Region}"
      - { Extra: !Ref Days }
    """)
    # When it is resolved
    resolved = _intrinsics().resolve(value)
    # Then each variable has its value and ${!X} stays literal
    assert resolved == (
        "stack-dev/arn:aws:dynamodb:eu-west-1:123456789012:table/orders-table/index/* the-bus 7 ${Literal} eu-west-1"
    )


def test_join_select_split_findinmap_base64_and_getatt_resolve() -> None:
    # Given the list and string functions
    value = _yaml("""
    joined: !Join ["/", [!Ref Stage, !Ref Days, !Select [2, !Ref Zones]]]
    split: !Select [1, !Split [",", "x,y,z"]]
    memory: !FindInMap [Sizes, !Ref Stage, Memory]
    encoded: !Base64 "hi"
    arn: !GetAtt Bus.Arn
    """)
    # When they are resolved
    resolved = _intrinsics().resolve(value)
    # Then they compute what CloudFormation computes
    assert resolved == {
        "joined": "dev/7/c",
        "split": "y",
        "memory": 256,
        "encoded": base64.b64encode(b"hi").decode(),
        "arn": RESOURCES["Bus"]["Arn"],
    }


@pytest.mark.parametrize(("stage", "expected"), [("dev", "small"), ("prod", "large")])
def test_if_follows_conditions_built_from_equals_not_and(stage: str, expected: str) -> None:
    # Given conditions composed of Equals, Not, And and named conditions
    intrinsics = _intrinsics({"Stage": stage, "Zones": [], "Days": "1"})
    # When If and the conditions are resolved
    size = intrinsics.resolve({"Fn::If": ["IsProd", "large", "small"]})
    # Then they follow the parameter
    assert size == expected
    assert intrinsics.condition("IsDev") is (stage == "dev")
    assert intrinsics.condition("DevInIreland") is (stage == "dev")


def test_no_value_removes_the_property_and_the_list_item() -> None:
    # Given properties that are AWS::NoValue in dev
    value = {
        "Keep": "x",
        "Drop": {"Fn::If": ["IsProd", "y", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}],
    }
    intrinsics = Intrinsics(
        parameters={"Stage": "dev"},
        pseudo={"AWS::NoValue": _no_value()},
        ref=lambda name: name,
        get_att=lambda name, attribute: name,
        conditions={"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    )
    # When resolved
    resolved = intrinsics.resolve(value)
    # Then they are gone, not None
    assert resolved == {"Keep": "x", "List": ["a"]}


def _no_value() -> Any:
    from local_runtime.template import NO_VALUE

    return NO_VALUE


def test_unknown_references_and_unsupported_functions_raise_template_errors() -> None:
    # Given references the template cannot satisfy
    nothing: dict[str, str] = {}
    intrinsics = Intrinsics(
        parameters={},
        pseudo={},
        ref=lambda name: nothing[name],
        get_att=lambda name, attribute: nothing[name],
    )
    # When / Then each is refused with a TemplateError naming the problem
    with pytest.raises(TemplateError, match="Missing"):
        intrinsics.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match=r"Missing\.Arn"):
        intrinsics.resolve({"Fn::GetAtt": ["Missing", "Arn"]})
    with pytest.raises(TemplateError, match="ImportValue"):
        intrinsics.resolve({"Fn::ImportValue": "shared-vpc"})
    with pytest.raises(TemplateError, match="unknown condition"):
        intrinsics.condition("Nope")


def test_globals_merge_like_sam_maps_merge_lists_concatenate_scalars_replace() -> None:
    # Given Globals and a function's own properties
    global_props = {"Timeout": 3, "Layers": ["L1"], "Environment": {"Variables": {"A": "g", "B": "g"}}}
    own_props = {"Timeout": 10, "Layers": ["L2"], "Environment": {"Variables": {"B": "own", "C": "own"}}}
    # When merged
    merged = merge_globals(global_props, own_props)
    # Then the function wins on scalars and keys, lists keep both
    assert merged == {
        "Timeout": 10,
        "Layers": ["L1", "L2"],
        "Environment": {"Variables": {"A": "g", "B": "own", "C": "own"}},
    }


def test_parameters_take_overrides_then_defaults_and_list_types_become_lists() -> None:
    # Given declared parameters
    declared = {
        "Stage": {"Type": "String", "Default": "dev"},
        "Days": {"Type": "Number", "Default": 7},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Flag": {"Type": "String", "Default": True},
    }
    # When values are computed with one override
    values = parameter_values(declared, {"Stage": "prod"})
    # Then overrides win, numbers become text and lists are split
    assert values == {"Stage": "prod", "Days": "7", "Zones": ["a", "b"], "Flag": "true"}
    with pytest.raises(TemplateError, match="no Default"):
        parameter_values({"Required": {"Type": "String"}}, {})


def test_dependency_order_puts_referenced_resources_first_and_refuses_cycles() -> None:
    # Given resources that reference each other through Sub and GetAtt
    nodes = {
        "Function": references({"Env": {"Fn::Sub": "${Table.Arn} ${Bus}"}}),
        "Table": set(),
        "Rule": references({"Target": {"Fn::GetAtt": ["Queue", "Arn"]}}),
        "Queue": set(),
        "Bus": set(),
    }
    # When ordered
    order = dependency_order(nodes)
    # Then each comes after what it uses, and template order is kept otherwise
    assert order == ["Table", "Queue", "Rule", "Bus", "Function"]
    with pytest.raises(TemplateError, match="circular"):
        dependency_order({"A": {"B"}, "B": {"A"}})


def test_the_fixture_template_loads_with_its_tags() -> None:
    # Given the fixture template file
    # When it is loaded
    template = load_template(TEMPLATE)
    # Then GetAtt in a nested property came out in long form
    echo = template.resources["EchoFunction"]["Properties"]
    assert echo["Environment"]["Variables"]["TABLE_ARN"] == {"Fn::GetAtt": ["RecordsTable", "Arn"]}
    assert template.base_dir == TEMPLATE.parent
