"""events/: every sample is valid JSON; API Gateway samples ask for a route template.yaml really has, and bus
samples are events capture can publish (the files drive `sam local invoke -e` and the handler tests alike)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent
from tests.infrastructure.cfn_template import REPO_ROOT, functions, load_template

EVENTS_DIR = REPO_ROOT / "events"
SAMPLE_FILES = sorted(path for path in EVENTS_DIR.rglob("*") if path.is_file())
JSON_FILES = [path for path in SAMPLE_FILES if path.suffix == ".json"]


def _id(path: Path) -> str:
    return str(path.relative_to(EVENTS_DIR))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _is_http_api_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and "routeKey" in event


def _is_bus_event(event: Any) -> bool:
    return isinstance(event, dict) and {"detail-type", "source", "detail"} <= event.keys()


def _is_valid_json(path: Path) -> bool:
    try:
        _load(path)
    except ValueError:
        return False
    return True


# Malformed files fail test_sample_is_an_api_gateway_or_bus_event (by name) instead of breaking collection.
HTTP_API_FILES = [path for path in JSON_FILES if _is_valid_json(path) and _is_http_api_event(_load(path))]
BUS_FILES = [path for path in JSON_FILES if _is_valid_json(path) and _is_bus_event(_load(path))]
SINGLE_BUS_FILES = [path for path in BUS_FILES if _load(path)["detail-type"] != "bundle"]
BUNDLE_FILES = [path for path in BUS_FILES if _load(path)["detail-type"] == "bundle"]
CAPTURE_BUS_FILES = [path for path in SINGLE_BUS_FILES if _load(path)["source"] == CAPTURE_SOURCE]


def _http_routes() -> dict[str, str]:
    """``"POST /v1/track"`` -> the function serving it, for every HttpApi event of the template."""
    routes = {}
    for function in functions(load_template()):
        for event in (function.properties.get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                properties = event["Properties"]
                routes[f"{str(properties.get('Method', 'ANY')).upper()} {properties['Path']}"] = function.logical_id
    return routes


def _path_pattern(route_path: str) -> re.Pattern[str]:
    """``/webhooks/pos/{store_id}`` matches ``/webhooks/pos/ist-kadikoy-01``; ``{proxy+}`` matches the rest."""
    pattern = re.sub(r"\\\{[^/]+?\\\+\\\}", ".+", re.escape(route_path))
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern) + "$")


def test_events_holds_samples() -> None:
    # Given events/, Then it has the tracking, webhook and bus samples, and nothing but JSON and READMEs
    assert {path.parent.name for path in JSON_FILES} >= {"tracking", "webhooks", "bus"}
    assert [path for path in SAMPLE_FILES if path.suffix not in (".json", ".md")] == []


@pytest.mark.parametrize("path", JSON_FILES, ids=_id)
def test_sample_is_an_api_gateway_or_bus_event(path: Path) -> None:
    # Given a sample file
    # When it is parsed as JSON (an error here names the file)
    event = _load(path)

    # Then it is one of the two kinds of event the functions receive
    assert _is_http_api_event(event) or _is_bus_event(event), f"{_id(path)}: neither an HTTP API nor a bus event"


@pytest.mark.parametrize("path", HTTP_API_FILES, ids=_id)
def test_api_gateway_sample_asks_for_a_route_of_the_template(path: Path) -> None:
    # Given an API Gateway HTTP API sample
    event = _load(path)
    method, _, route_path = event["routeKey"].partition(" ")

    # Then its routeKey is a route of template.yaml, served by a function
    assert event["routeKey"] in _http_routes(), f"{_id(path)}: no route {event['routeKey']!r} in template.yaml"
    # And the request is the one the route key says: same key in the context, same method, a matching path
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["requestContext"]["http"]["method"] == method
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert _path_pattern(route_path).match(event["rawPath"]), f"{event['rawPath']} does not match {route_path}"


@pytest.mark.parametrize("path", BUS_FILES, ids=_id)
def test_bus_sample_has_the_shape_eventbridge_delivers(path: Path) -> None:
    # Given a bus sample, Then it has every field of an EventBridge event as a rule's target receives it
    event = _load(path)
    assert event.keys() >= {"version", "id", "detail-type", "source", "account", "time", "region", "resources"}
    assert event["source"].startswith("omnichannel.")
    assert isinstance(event["detail"], dict)


@pytest.mark.parametrize("path", CAPTURE_BUS_FILES, ids=_id)
def test_capture_bus_sample_is_a_canonical_event(path: Path) -> None:
    # Given a bus sample from capture
    event = _load(path)

    # When its detail is read as the consumers read it
    detail = CanonicalEvent.model_validate(event["detail"])

    # Then it is a canonical event, complete, with the detail-type capture gives it
    assert detail.to_bus_detail() == event["detail"]
    assert event["detail-type"] == detail.detail_type


def test_route_pattern_matches_path_parameters() -> None:
    # Given a route with a path parameter, Then a concrete path matches it and a deeper one does not
    assert _path_pattern("/webhooks/pos/{store_id}").match("/webhooks/pos/ist-kadikoy-01")
    assert not _path_pattern("/webhooks/pos/{store_id}").match("/webhooks/pos/a/b")
    assert _path_pattern("/v1/{short}").match("/v1/t")


PROFILE_BUS_FILES = [path for path in SINGLE_BUS_FILES if _load(path)["source"] == "omnichannel.profiles"]


@pytest.mark.parametrize("path", PROFILE_BUS_FILES, ids=_id)
def test_profile_bus_sample_is_what_the_profiles_function_publishes(path: Path) -> None:
    from omnichannel.profile_events import (
        EventsErasureRequested,
        ProfileCreated,
        ProfileErased,
        ProfileMerged,
        ProfileUnmerged,
        ProfileUpdated,
    )

    models: dict[str, type[BaseModel]] = {
        "profile.created": ProfileCreated,
        "profile.updated": ProfileUpdated,
        "profile.merged": ProfileMerged,
        "profile.unmerged": ProfileUnmerged,
        "profile.erased": ProfileErased,
        "events.erasure_requested": EventsErasureRequested,
    }
    event = _load(path)
    detail = models[event["detail-type"]].model_validate(event["detail"])
    assert detail.model_dump(mode="json") == event["detail"]


def test_there_is_a_bundle_sample_per_bundling_source() -> None:
    assert sorted(_load(path)["source"] for path in BUNDLE_FILES) == [CAPTURE_SOURCE, "omnichannel.profiles"]


@pytest.mark.parametrize("path", BUNDLE_FILES, ids=_id)
def test_a_bundle_sample_holds_the_single_samples_as_the_consumers_expand_them(path: Path) -> None:
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    from omnichannel.bus_batch import expand_bundle

    # Given a bundle sample and the single samples of its folder
    bundle = _load(path)
    singles = {
        _load(other)["detail"]["event_id"]: _load(other)
        for other in SINGLE_BUS_FILES
        if other.parent == path.parent and _load(other)["source"] == bundle["source"]
    }

    # When the consumers' shell expands it
    expanded = expand_bundle(EventBridgeModel.model_validate(bundle))

    # Then its kinds are its events' detail-types, and each event is a single sample as it would have come alone
    assert not isinstance(expanded, str)
    assert bundle["detail"]["kinds"] == sorted({inner["detail-type"] for inner in bundle["detail"]["events"]})
    assert len(expanded) >= 2
    for body, parsed in expanded:
        assert not isinstance(parsed, str)
        single = singles[body["detail"]["event_id"]]
        assert body["id"] == single["detail"]["event_id"]
        assert (body["source"], body["detail-type"], body["detail"]) == (
            single["source"],
            single["detail-type"],
            single["detail"],
        )
