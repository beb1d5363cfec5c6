"""Reads the journey definition files: every ``*.yaml`` / ``*.yml`` / ``*.json`` of a folder, validated.

On Lambda the folder is the ``journey_definitions`` package of the JourneyDefinitionsLayer
(``/opt/python/journey_definitions``); locally and in tests the same package from ``journeys/`` at the top of the
repository (the local runtime puts the layer's folder on ``sys.path`` as Lambda does). A file that does not
validate stops the load with its name and the failing field: a broken journey must fail the deployment's tests,
never run half-read.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from journeys.models.definition import JourneyDefinition

PACKAGE = "journey_definitions"
SUFFIXES = (".yaml", ".yml", ".json")


class DefinitionError(ValueError):
    """A definition file that cannot be used: which file, which field, why."""


def definitions_folder() -> Path:
    """The ``journey_definitions`` package's folder, found on ``sys.path`` (the layer's, or the repository's)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DefinitionError(f"no {PACKAGE} package on sys.path (the JourneyDefinitionsLayer)")
    return Path(next(iter(spec.submodule_search_locations)))


def _field(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def load_file(path: Path) -> JourneyDefinition:
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise DefinitionError(f"{path.name}: not valid {path.suffix[1:].upper()}: {error}") from error
    if not isinstance(document, dict):
        raise DefinitionError(f"{path.name}: a journey is a mapping (id, version, trigger, steps ...)")
    try:
        definition = JourneyDefinition.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        raise DefinitionError(f"{path.name}: {_field(first['loc'])}: {first['msg']}") from error
    return definition


def load_folder(folder: Path) -> list[JourneyDefinition]:
    """Every definition of ``folder`` (sorted by file name); the same id and version twice is an error."""
    found: dict[tuple[str, int], str] = {}
    definitions = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        definition = load_file(path)
        key = (definition.id, definition.version)
        if key in found:
            raise DefinitionError(f"{path.name}: {definition.id} version {definition.version} is also {found[key]}")
        found[key] = path.name
        definitions.append(definition)
    return definitions
