"""moto's EventBridge matcher, which routes the local runtime's bus (local_runtime/bus_delivery.py), matches the
template's bundle rules as EventBridge does: an array value (a bundle's ``detail.kinds``) matches if any of its
elements does, and ``$or`` joins the single and the bundle forms. Pinned here: if a moto upgrade changed either,
bundles would silently reach nobody locally."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from tests.infrastructure.cfn_template import load_template

RULES = {
    name: resource["Properties"]["EventPattern"]
    for name, resource in load_template()["Resources"].items()
    if resource["Type"] == "AWS::Events::Rule"
}


def _event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"source": source, "detail-type": detail_type, "detail": detail}


def _bundle(source: str, *kinds: str) -> dict[str, Any]:
    return _event(source, "bundle", {"kinds": sorted(kinds), "events": []})


def _matches(rule: str, event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(RULES[rule])).matches_event(cast(Any, event)))


@pytest.mark.parametrize(
    ("rule", "event", "expected"),
    [
        # any element of kinds matching is enough; none matching, no delivery
        ("KpisRollupRule", _bundle("omnichannel.capture", "Product Added", "page"), True),
        ("KpisRollupRule", _bundle("omnichannel.capture", "Product Added", "Cart Viewed"), False),
        ("KpisRollupRule", _bundle("omnichannel.profiles", "profile.unmerged", "profile.created"), True),
        ("KpisRollupRule", _bundle("omnichannel.profiles", "profile.unmerged"), False),
        # the single form still matches through $or, and a bundle of another source does not
        ("KpisRollupRule", _event("omnichannel.capture", "page", {}), True),
        ("KpisRollupRule", _bundle("omnichannel.handoff", "page"), False),
        ("CartsEventsRule", _bundle("omnichannel.capture", "identify", "Product Added"), True),
        ("CartsEventsRule", _bundle("omnichannel.capture", "identify", "page"), False),
        ("CaptureErasureRule", _bundle("omnichannel.profiles", "profile.created", "events.erasure_requested"), True),
        ("CaptureErasureRule", _bundle("omnichannel.profiles", "profile.created", "profile.erased"), False),
        ("CaptureErasureRule", _event("omnichannel.profiles", "events.erasure_requested", {}), True),
        ("CaptureErasureRule", _event("omnichannel.profiles", "profile.erased", {}), False),
        ("HandoffEventsRule", _bundle("omnichannel.capture", "page", "Message Received"), True),
        ("JourneysEventsRule", _bundle("omnichannel.capture", "page", "Survey Answered"), True),
        ("JourneysEventsRule", _bundle("omnichannel.capture", "page", "screen"), False),
        ("OutboundOfferRule", _bundle("omnichannel.profiles", "profile.erased"), True),
        # the resolver's rule names only the source: every captured bundle
        ("ProfilesResolverRule", _bundle("omnichannel.capture", "page"), True),
    ],
)
def test_moto_matches_bundles_as_eventbridge_does(rule: str, event: dict[str, Any], expected: bool) -> None:
    assert _matches(rule, event) is expected
