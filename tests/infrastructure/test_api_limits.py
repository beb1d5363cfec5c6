"""The limits of the public front door on AWS (docs/http-api.md): throttling on every route and on the batch
routes, reserved concurrency for the public capture function, an access log; every number a template parameter."""

from __future__ import annotations

import re
from typing import Any

from tests.infrastructure.cfn_template import REPO_ROOT, functions, load_template

TEMPLATE = load_template()
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
HTTP_API: dict[str, Any] = TEMPLATE["Resources"]["HttpApi"]["Properties"]
CAPTURE = next(f for f in functions(TEMPLATE) if f.logical_id == "CaptureApiFunction")
DOC = (REPO_ROOT / "docs" / "http-api.md").read_text(encoding="utf-8")


def _parameter(value: Any) -> str:
    assert isinstance(value, dict), f"{value} is not a parameter"
    assert set(value) == {"Ref"}, f"{value} is not a parameter"
    assert value["Ref"] in PARAMETERS
    return str(value["Ref"])


def test_every_route_is_throttled_by_parameters() -> None:
    settings = HTTP_API["DefaultRouteSettings"]
    assert _parameter(settings["ThrottlingRateLimit"]) == "ApiThrottlingRateLimit"
    assert _parameter(settings["ThrottlingBurstLimit"]) == "ApiThrottlingBurstLimit"


def test_the_batch_routes_have_their_own_lower_limits() -> None:
    # Given the routes that carry up to 2,500 events a request
    for route in ("POST /v1/batch", "POST /v1/import"):
        settings = HTTP_API["RouteSettings"][route]
        rate = _parameter(settings["ThrottlingRateLimit"])
        burst = _parameter(settings["ThrottlingBurstLimit"])
        # Then their defaults are below every route's
        assert PARAMETERS[rate]["Default"] < PARAMETERS["ApiThrottlingRateLimit"]["Default"]
        assert PARAMETERS[burst]["Default"] < PARAMETERS["ApiThrottlingBurstLimit"]["Default"]
    # And those routes exist on the capture function
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in CAPTURE.properties["Events"].values()}
    assert set(HTTP_API["RouteSettings"]) <= routes


def test_the_public_capture_function_has_reserved_concurrency_unless_set_to_0() -> None:
    reserved = CAPTURE.properties["ReservedConcurrentExecutions"]
    condition, when_reserved, otherwise = reserved["Fn::If"]
    assert _parameter(when_reserved) == "CaptureReservedConcurrency"
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert TEMPLATE["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CaptureReservedConcurrency"}, 0]}]
    }
    assert PARAMETERS["CaptureReservedConcurrency"]["Default"] > 0


def test_the_api_writes_an_access_log_without_bodies_or_tokens() -> None:
    settings = HTTP_API["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"]
    assert group == ["HttpApiAccessLogs", "Arn"]
    log_group = TEMPLATE["Resources"]["HttpApiAccessLogs"]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert _parameter(log_group["Properties"]["RetentionInDays"]) == "ApiAccessLogRetentionDays"
    fields = set(re.findall(r"\$context\.([A-Za-z.]+)", settings["Format"]))
    assert {"requestId", "routeKey", "status", "identity.sourceIp", "responseLatency"} <= fields
    assert not {name for name in fields if "body" in name.lower() or "authorization" in name.lower()}


def test_the_numbers_are_documented() -> None:
    for name in (
        "ApiThrottlingRateLimit",
        "ApiThrottlingBurstLimit",
        "BatchRouteRateLimit",
        "BatchRouteBurstLimit",
        "CaptureReservedConcurrency",
        "ApiAccessLogRetentionDays",
    ):
        assert f"`{name}`" in DOC, f"docs/http-api.md does not document {name}"
        assert str(PARAMETERS[name]["Default"]) in DOC.split(f"`{name}`", 1)[1].split("\n", 1)[0]
