"""Filling a step's texts: ``{first_name}``, ``{trait.city}``, ``{event.products.0.name}``, ``{survey.ask_nps}``,
``{survey_link}`` ... (pure). Only these names exist (the definition's validation refuses others); a value that
is missing renders as nothing, never as the placeholder. No format-string machinery: a value cannot reach into
objects, and a ``{`` inside a value stays text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.models.definition import PLACEHOLDER
from journeys.models.state import Profile, Run

MAX_VALUE_LENGTH = 200


def _text(value: Any, limit: int | None = None) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)[:limit]


def _lookup(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def first_name(profile: Profile | None) -> str:
    if profile is None:
        return ""
    traits = profile.traits
    for key in ("first_name", "firstName", "given_name"):
        if isinstance(traits.get(key), str) and traits[key].strip():
            return str(traits[key]).strip()
    name = traits.get("name")
    return str(name).split()[0] if isinstance(name, str) and name.strip() else ""


def last_name(profile: Profile | None) -> str:
    if profile is None:
        return ""
    traits = profile.traits
    for key in ("last_name", "lastName", "family_name"):
        if isinstance(traits.get(key), str) and traits[key].strip():
            return str(traits[key]).strip()
    return ""


def variables(
    profile: Profile | None,
    run: Run,
    *,
    journey_name: str,
    stage: str | None,
    links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything a text may name, by the name it is written with."""
    found: dict[str, Any] = {
        "first_name": first_name(profile),
        "last_name": last_name(profile),
        "journey_name": journey_name,
        "stage": stage or "",
        **(links or {}),
    }
    found["name"] = " ".join(part for part in (found["first_name"], found["last_name"]) if part)
    found["_traits"] = profile.traits if profile is not None else {}
    found["_event"] = run.trigger.get("properties") or {}
    found["_survey"] = {answer.step_id: answer.score for answer in run.answers}
    return found


def value_of(name: str, values: Mapping[str, Any]) -> str:
    prefix, _, rest = name.partition(".")
    if rest and prefix in ("trait", "event", "survey"):
        return _text(_lookup(values[f"_{prefix}"], rest), MAX_VALUE_LENGTH)  # what customers typed: bounded
    return _text(values.get(name))


def render(text: str | None, values: Mapping[str, Any]) -> str:
    if not text:
        return ""
    return PLACEHOLDER.sub(lambda match: value_of(match.group(1), values), text)
