"""template.yaml is YAML without repeated keys: YAML loaders keep the last of two ``Conditions:`` sections (or two
properties of the same name) without a word, so a textual merge of two branches can silently drop one."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from local_runtime.template import CfnLoader
from tests.infrastructure.cfn_template import TEMPLATE_PATH


class StrictCfnLoader(CfnLoader):
    """CloudFormation's short tags, and a repeated key in any mapping is an error naming both places."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise AssertionError(f"{key!r} twice: {seen[key].start_mark} and {key_node.start_mark}")
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def test_template_has_no_repeated_key() -> None:
    body = yaml.load(TEMPLATE_PATH.read_text(encoding="utf-8"), Loader=StrictCfnLoader)  # noqa: S506 - a SafeLoader
    assert {"Parameters", "Conditions", "Rules", "Resources", "Outputs"} <= set(body)


def test_a_repeated_section_is_caught() -> None:
    text = "Conditions:\n  A: !Equals [a, a]\nRules: {}\nConditions:\n  B: !Equals [b, b]\n"
    with pytest.raises(AssertionError, match="'Conditions' twice"):
        yaml.load(text, Loader=StrictCfnLoader)  # noqa: S506
