"""Bundles on the bus (omnichannel.event_bus) in template.yaml: the BusBundling parameter reaches the three stream
publishers that bundle; every consumer rule on capture / profiles / carts events also matches the bundles holding its
kinds, and the consumer's code takes from a bundle exactly those kinds; a batch of bundles fits Lambda's payload."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from omnichannel.bus_batch import BusBatchConsumer
from tests.infrastructure.cfn_template import Resource, functions, load_template, referenced_resource

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = functions(TEMPLATE)
BUNDLED_SOURCES = ("omnichannel.capture", "omnichannel.profiles", "omnichannel.carts")
BUNDLERS = {"CaptureStreamPublisherFunction", "ProfilesStreamPublisherFunction", "CartsStreamPublisherFunction"}
LAMBDA_PAYLOAD = 6 * 1024 * 1024
CHUNK = 64 * 1024


def _sqs_consumers() -> list[tuple[Resource, dict[str, Any], dict[str, Any]]]:
    """(function, its SQS event source's properties, its queue's rule's properties)."""
    found = []
    for function in FUNCTIONS:
        for event in (function.properties.get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = referenced_resource(event["Properties"]["Queue"])
            [rule] = [
                resource["Properties"]
                for resource in RESOURCES.values()
                if resource["Type"] == "AWS::Events::Rule"
                and any(referenced_resource(target["Arn"]) == queue for target in resource["Properties"]["Targets"])
            ]
            found.append((function, event["Properties"], rule))
    return found


CONSUMERS = _sqs_consumers()


def _arms(rule: dict[str, Any]) -> list[dict[str, Any]]:
    pattern = rule["EventPattern"]
    return list(pattern["$or"]) if "$or" in pattern else [pattern]


def _single_kinds(rule: dict[str, Any], source: str) -> set[str] | None:
    """The detail-types of ``source`` the rule matches alone (None: any; empty: none)."""
    kinds: set[str] = set()
    for arm in _arms(rule):
        if source in arm["source"] and arm.get("detail-type") != ["bundle"]:
            if "detail-type" not in arm:
                return None
            kinds |= set(arm["detail-type"])
    return kinds


def _bundle_kinds(rule: dict[str, Any], source: str) -> set[str] | None:
    """The kinds of ``source`` the rule matches in a bundle (None: every bundle)."""
    kinds: set[str] = set()
    for arm in _arms(rule):
        if source not in arm["source"]:
            continue
        if "detail-type" not in arm:
            return None
        if arm["detail-type"] == ["bundle"]:
            assert set(arm) == {"source", "detail-type", "detail"}
            assert set(arm["detail"]) == {"kinds"}
            kinds |= set(arm["detail"]["kinds"])
    return kinds


def _consumers_of(function: Resource) -> list[BusBatchConsumer]:
    """The shells of the function's handler module (outbound's has two, one per queue: their routes are told apart
    by source and kind anyway)."""
    module = importlib.import_module(function.properties["Handler"].rsplit(".", 1)[0])
    consumers = {id(value): value for value in vars(module).values() if isinstance(value, BusBatchConsumer)}
    assert consumers, function.logical_id
    return list(consumers.values())


def test_bus_bundling_is_a_parameter_bundled_by_default_given_to_the_stream_publishers_that_bundle() -> None:
    parameter = TEMPLATE["Parameters"]["BusBundling"]
    assert parameter["Default"] == "bundled"
    assert parameter["AllowedValues"] == ["bundled", "single"]
    given = {
        function.logical_id
        for function in FUNCTIONS
        if (function.properties.get("Environment") or {}).get("Variables", {}).get("BUS_BUNDLING")
        == {"Ref": "BusBundling"}
    }
    assert given == BUNDLERS


@pytest.mark.parametrize(("function", "source", "rule"), CONSUMERS, ids=lambda value: getattr(value, "logical_id", ""))
def test_a_consumer_rule_matches_the_bundles_holding_exactly_the_kinds_it_matches_alone(
    function: Resource, source: dict[str, Any], rule: dict[str, Any]
) -> None:
    for bus_source in BUNDLED_SOURCES:
        assert _bundle_kinds(rule, bus_source) == _single_kinds(rule, bus_source), (function.logical_id, bus_source)


@pytest.mark.parametrize(("function", "source", "rule"), CONSUMERS, ids=lambda value: getattr(value, "logical_id", ""))
def test_a_consumer_takes_from_a_bundle_what_its_rule_delivers(
    function: Resource, source: dict[str, Any], rule: dict[str, Any]
) -> None:
    consumers = _consumers_of(function)
    accepts = [accept for consumer in consumers for accept in consumer._accepts]
    routes = [route for consumer in consumers for route in consumer._routes]
    for bus_source in BUNDLED_SOURCES:
        wanted = _bundle_kinds(rule, bus_source)
        if wanted == set():
            continue
        if accepts:  # a batch function: given exactly what the rule names
            accepted = [kinds for accepted_source, kinds in accepts if accepted_source == bus_source]
            assert accepted == [None if wanted is None else frozenset(wanted)], function.logical_id
        else:  # routes: each kind has one (an unrouted kind of a bundle would be ignored)
            routed = [route.detail_types for route in routes if route.source == bus_source]
            if None in routed:
                continue
            assert wanted is not None
            kinds = set().union(*[kinds for kinds in routed if kinds is not None])
            assert wanted <= kinds, (function.logical_id, sorted(wanted - kinds))


@pytest.mark.parametrize(("function", "source", "rule"), CONSUMERS, ids=lambda value: getattr(value, "logical_id", ""))
def test_a_batch_of_full_bundles_fits_lambda_s_payload(
    function: Resource, source: dict[str, Any], rule: dict[str, Any]
) -> None:
    # a 64 KB body escaped inside the invocation's JSON (a quote becomes two characters: a JSON body is far from all
    # quotes, a third at most), and about 1 KB of each record's attributes
    per_record = CHUNK * 4 // 3 + 1024
    assert source["BatchSize"] * per_record <= LAMBDA_PAYLOAD, function.logical_id
