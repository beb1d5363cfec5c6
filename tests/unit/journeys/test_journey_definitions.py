"""Journey definitions: the shipped files load and validate (also against the published JSON Schema), the schema
in docs/ is the one the models generate, the template delivers every captured event a journey names, and a
definition with a mistake is refused naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from journeys.dal.definition_files import DefinitionError, definitions_folder, load_file, load_folder
from journeys.logic.registry import Registry
from journeys.models.definition import JourneyDefinition, journey_schema
from tests.infrastructure.cfn_template import functions, load_template

DOCS = Path(__file__).resolve().parents[3] / "docs"
SHIPPED = [
    "abandoned_cart_store_offer",
    "cross_sell_coffee",
    "first_purchase_follow_up",
    "high_value_first_order_call",
    "post_visit_nps",
    "recovery_feedback",
]
MINIMAL: dict[str, Any] = {
    "id": "probe",
    "version": 1,
    "name": "Probe",
    "trigger": {"event": "Store Visited"},
    "steps": [{"id": "wait", "type": "wait", "duration": "1d"}, {"id": "end", "type": "exit"}],
}


def test_the_shipped_journeys_load_and_validate_against_the_published_schema() -> None:
    # Given the definition folder (the layer's package) and the schema in docs/
    folder = definitions_folder()
    schema = json.loads((DOCS / "journey.schema.json").read_text(encoding="utf-8"))

    # When each file is read
    definitions = load_folder(folder)

    # Then every shipped journey is there, and each file is valid against the JSON Schema a retailer's editor uses
    assert sorted(d.id for d in definitions) == SHIPPED
    for path in sorted(folder.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_the_published_schema_is_the_one_the_models_generate() -> None:
    committed = json.loads((DOCS / "journey.schema.json").read_text(encoding="utf-8"))
    assert committed == journey_schema(), "docs/journey.schema.json is stale: run `make openapi`"


def test_the_template_delivers_every_captured_event_a_journey_names() -> None:
    # Given the captured events the journeys listen to, and the rule filling the journeys function's queue
    names = Registry.of(load_folder(definitions_folder())).event_names()
    template = load_template()
    assert any(f.logical_id == "JourneysEventsFunction" for f in functions(template))
    rule = template["Resources"]["JourneysEventsRule"]["Properties"]
    capture = [entry for entry in rule["EventPattern"]["$or"] if entry["source"] == ["omnichannel.capture"]]
    [pattern] = [entry for entry in capture if entry["detail-type"] != ["bundle"]]
    [bundles] = [entry for entry in capture if entry["detail-type"] == ["bundle"]]

    # Then the rule delivers each of them from capture, alone or in a bundle (add a journey's new event name there)
    assert names <= set(pattern["detail-type"]), sorted(names - set(pattern["detail-type"]))
    assert set(bundles["detail"]["kinds"]) == set(pattern["detail-type"])


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(_with(steps=[{"id": "a", "type": "wait", "duration": "1d", "next": "a"}]), "not after it",
                     id="backward-jump"),
        pytest.param(_with(steps=[{"id": "a", "type": "wait", "duration": "1d", "next": "zz"}]), "no step 'zz'",
                     id="unknown-target"),
        pytest.param(_with(steps=[{"id": "a", "type": "exit"}, {"id": "a", "type": "exit"}]), "twice",
                     id="duplicate-id"),
        pytest.param(_with(steps=[{"id": "a", "type": "wait", "duration": "1d", "until": {"event": "X"}}]),
                     "either a duration", id="wait-both"),
        pytest.param(_with(steps=[{"id": "a", "type": "wait", "until": {"event": "X"}}]), "needs a timeout",
                     id="wait-until-no-timeout"),
        pytest.param(_with(steps=[{"id": "a", "type": "wait", "duration": "0d"}]), "longer than zero",
                     id="zero-duration"),
        pytest.param(_with(steps=[{"id": "s", "type": "send", "message": {"whatsapp": {"text": "hi"}}}]),
                     "approved template", id="whatsapp-without-template"),
        pytest.param(_with(steps=[{"id": "s", "type": "send", "message": {"sms": {"text": "hi {password}"}}}]),
                     "unknown variable", id="unknown-placeholder"),
        pytest.param(_with(steps=[{"id": "s", "type": "send", "message": {"sms": {"text": "{survey_link}"}}}]),
                     "only a survey step", id="link-outside-survey"),
        pytest.param(_with(steps=[{"id": "b", "type": "branch", "if": {"survey": {"step": "x", "score": 1}},
                                   "then": "e", "else": "e"}, {"id": "e", "type": "exit"}]),
                     "not a survey before", id="branch-on-unknown-survey"),
        pytest.param(_with(steps=[{"id": "b", "type": "branch", "if": {"stage": ["loyalty"], "consent": "sms"},
                                   "then": "e", "else": "e"}, {"id": "e", "type": "exit"}]),
                     "exactly one test", id="two-tests-in-one-condition"),
        pytest.param(_with(entry={"holdout": 0.9}), "less than or equal to 0.5", id="holdout-too-large"),
        pytest.param(_with(entry={"reentry": "cooldown"}), "cooldown is set", id="cooldown-missing"),
        pytest.param(_with(trigger={"lifecycle": {"to": ["dormant"]}}), "lifecycle", id="unknown-stage"),
        pytest.param(_with(stepz=[]), "stepz", id="typo-field"),
    ],
)  # fmt: skip
def test_a_definition_with_a_mistake_is_refused_naming_the_field(
    document: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    # Given a journey file with one mistake
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    # When it is loaded, Then it is refused with the file's name and what is wrong
    with pytest.raises(DefinitionError) as refused:
        load_file(path)
    assert str(refused.value).startswith("probe.yaml: ")
    assert expected in str(refused.value)


def test_the_same_journey_version_twice_is_refused_and_versions_coexist(tmp_path: Path) -> None:
    # Given version 1 and version 2 of one journey, then a second file with version 2 again
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(_with(version=2)), encoding="utf-8")
    registry = Registry.of(load_folder(tmp_path))
    latest = registry.latest("probe")
    assert latest is not None
    assert latest.version == 2
    assert registry.for_run("probe", 1, "wait") is registry.versions["probe"][1]  # runs keep theirs
    (tmp_path / "c.json").write_text(json.dumps(_with(version=2)), encoding="utf-8")

    # Then the duplicate is named
    with pytest.raises(DefinitionError, match=r"probe version 2 is also b\.yaml"):
        load_folder(tmp_path)


def test_a_run_of_a_removed_version_goes_on_at_the_same_step_of_the_newest_or_nowhere() -> None:
    newest = JourneyDefinition.model_validate(_with(version=3))
    registry = Registry.of([newest])
    assert registry.for_run("probe", 1, "wait") is newest
    assert registry.for_run("probe", 1, "a_step_that_is_gone") is None


def test_the_example_in_the_retailers_readme_is_a_valid_journey() -> None:
    # Given the example a retailer copies from journeys/README.md
    readme = (Path(__file__).resolve().parents[3] / "journeys" / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]

    # Then it is a journey the functions would load
    definition = JourneyDefinition.model_validate(yaml.safe_load(example))
    assert [step.type for step in definition.steps] == ["reward", "send"]
