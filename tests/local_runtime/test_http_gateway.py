"""HTTP API emulation: routes as API Gateway picks them, payload 2.0 events, payload 2.0 responses, CORS."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from typing import Any

import pytest

from local_runtime import LocalRuntime
from local_runtime.http_gateway import Route
from tests.local_runtime.support import FIXTURES, echoed

SAM_SAMPLE = json.loads((FIXTURES / "sam_http_api_event.json").read_text())
# Keys of the SAM sample that only appear when the request has them (or that HTTP APIs without mTLS never send).
OPTIONAL_KEYS = {"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"}
OPTIONAL_CONTEXT_KEYS = {"authentication", "authorizer"}


def _event(runtime: LocalRuntime, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = runtime.request(method, path, **kwargs)
    assert status == 200, body
    event: dict[str, Any] = echoed(body)["event"]
    return event


@pytest.mark.parametrize(
    ("method", "path", "route_key", "path_parameters"),
    [
        ("POST", "/v1/track", "POST /v1/track", None),  # exact beats {short}
        ("POST", "/v1/p", "POST /v1/{short}", {"short": "p"}),
        ("GET", "/items/sku%2042", "GET /items/{item_id}", {"item_id": "sku 42"}),
        ("DELETE", "/files/a/b/c.txt", "ANY /files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ],
)
def test_the_most_specific_route_wins_and_fills_path_parameters(
    runtime: LocalRuntime, method: str, path: str, route_key: str, path_parameters: dict[str, str] | None
) -> None:
    # Given the fixture routes
    # When a request comes in
    event = _event(runtime, method, path)
    # Then API Gateway's choice of route is made and the parameters are decoded
    assert event["routeKey"] == route_key
    assert event["requestContext"]["routeKey"] == route_key
    assert event.get("pathParameters") == path_parameters
    assert event["rawPath"] == path


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nowhere"), ("GET", "/v1/track"), ("POST", "/files"), ("GET", "/items/")]
)
def test_unknown_routes_answer_404_like_api_gateway(runtime: LocalRuntime, method: str, path: str) -> None:
    # Given no route takes this method and path
    # When it is requested
    status, headers, body = runtime.request(method, path)
    # Then API Gateway's own 404 answers
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Not Found"}


def test_route_specificity_orders_literals_before_parameters_before_greedy_and_default_last() -> None:
    # Given routes of every kind, shuffled
    routes = [
        Route("Api", "ANY", None, "F", "Default"),
        Route("Api", "ANY", "/a/{proxy+}", "F", "Greedy"),
        Route("Api", "GET", "/a/{x}", "F", "Param"),
        Route("Api", "ANY", "/a/b", "F", "AnyLiteral"),
        Route("Api", "GET", "/a/b", "F", "Literal"),
    ]
    # When sorted by specificity
    ordered = [route.event for route in sorted(routes, key=Route.specificity)]
    # Then literal with a method first, $default last
    assert ordered == ["Literal", "AnyLiteral", "Param", "Greedy", "Default"]


def test_the_event_has_the_shape_of_a_real_http_api_payload_2_0(runtime: LocalRuntime) -> None:
    # Given the sample event `sam local generate-event apigateway http-api-proxy` prints
    # When a request with a query, cookies, a body and path parameters comes in
    event = _event(
        runtime,
        "POST",
        "/v1/p?b=1",
        headers={"content-type": "application/json", "cookie": "a=1; b=2"},
        body={"x": 1},
    )
    # Then it has the same keys at every level (optional ones present because the request has them)
    assert set(SAM_SAMPLE) - {"stageVariables"} == set(event)
    assert set(SAM_SAMPLE["requestContext"]) - OPTIONAL_CONTEXT_KEYS == set(event["requestContext"])
    assert set(SAM_SAMPLE["requestContext"]["http"]) == set(event["requestContext"]["http"])
    context = event["requestContext"]
    assert event["version"] == "2.0"
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == runtime.resource_ref("Api")
    assert context["http"] == {
        "method": "POST",
        "path": "/v1/p",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "",
    }
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False


def test_a_bodiless_request_has_no_optional_keys(runtime: LocalRuntime) -> None:
    # Given a GET without query, cookies or body
    # When it comes in
    event = _event(runtime, "GET", "/items/1")
    # Then only path parameters are added to the required keys, as on AWS
    assert set(event) == (set(SAM_SAMPLE) - OPTIONAL_KEYS) | {"pathParameters"}
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False


def test_headers_are_lower_cased_repeats_comma_joined_cookies_split_query_joined(runtime: LocalRuntime) -> None:
    # Given repeated headers, a cookie header and a repeated query parameter
    headers = [("X-Trace", "one"), ("x-trace", "two"), ("User-Agent", "tester/1"), ("Cookie", "a=1; b=2")]
    # When the request comes in
    event = _event(runtime, "GET", "/items/1", headers=headers, query={"tag": ["red", "blue"], "empty": ""})
    # Then API Gateway's folding rules apply
    assert event["headers"]["x-trace"] == "one,two"
    assert event["headers"]["user-agent"] == "tester/1"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["rawQueryString"] == "tag=red&tag=blue&empty="
    assert event["queryStringParameters"] == {"tag": "red,blue", "empty": ""}
    assert event["requestContext"]["http"]["userAgent"] == "tester/1"
    assert all(name == name.lower() for name in event["headers"])


def test_a_gzip_body_arrives_base64_encoded(runtime: LocalRuntime) -> None:
    # Given a gzip-compressed JSON body, as analytics SDKs send it
    raw = gzip.compress(b'{"batch": []}')
    # When it is posted with Content-Encoding: gzip
    event = _event(
        runtime, "POST", "/v1/track", headers={"content-type": "application/json", "content-encoding": "gzip"}, body=raw
    )
    # Then the function gets the exact bytes in base64, flagged
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json", False),
        ("text/plain; charset=utf-8", False),
        ("application/vnd.api+json", False),
        ("application/x-www-form-urlencoded", True),
        ("application/octet-stream", True),
    ],
)
def test_non_text_bodies_arrive_base64_encoded(runtime: LocalRuntime, content_type: str, encoded: bool) -> None:
    # Given a body of some media type
    # When it is posted
    event = _event(runtime, "POST", "/v1/track", headers={"content-type": content_type}, body="a=1&b=2")
    # Then only text types come through as text
    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]).decode() if encoded else event["body"]) == "a=1&b=2"


def test_the_handler_answer_becomes_the_http_response(runtime: LocalRuntime) -> None:
    # Given the echo function answers with headers, multi-value headers and cookies
    # When it is called
    response = runtime.request("GET", "/items/1")
    # Then every part reaches the client
    assert response.status == 200
    assert response.headers["x-echo"] == "1"
    assert ("x-multi", "one") in response.header_list
    assert ("x-multi", "two") in response.header_list
    assert [value for name, value in response.header_list if name == "set-cookie"] == [
        "session=abc; Path=/",
        "theme=dark",
    ]


def test_a_bare_answer_is_200_json(runtime: LocalRuntime) -> None:
    # Given a route whose handler returns a dict without statusCode
    # When it is called
    status, headers, body = runtime.request("GET", "/bare")
    # Then API Gateway's payload 2.0 rule makes it 200 JSON
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"bare": True, "service": "echo"}


def test_a_base64_answer_is_decoded(runtime: LocalRuntime) -> None:
    # Given a handler answering binary content with isBase64Encoded
    # When it is called
    status, headers, body = runtime.request("GET", "/binary")
    # Then the client gets the bytes
    assert status == 200
    assert headers["content-type"] == "application/octet-stream"
    assert body == b"\x00\x01binary\xff"


def test_a_handler_exception_is_a_500_and_its_traceback_is_logged(
    runtime: LocalRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a handler that raises
    caplog.set_level(logging.ERROR, logger="local_runtime")
    # When it is called
    status, _, body = runtime.request("GET", "/boom")
    # Then the client sees API Gateway's 500 and the developer the traceback
    assert status == 500
    assert json.loads(body) == {"message": "Internal Server Error"}
    assert any("ValueError: the echo function was asked to fail" in r.getMessage() for r in caplog.records)
    assert any("Traceback" in r.getMessage() for r in caplog.records)


def test_the_context_looks_like_lambdas(runtime: LocalRuntime) -> None:
    # Given the echo function reports its context
    # When it is called twice
    first = echoed(runtime.request("GET", "/items/1").body)["context"]
    second = echoed(runtime.request("GET", "/items/1").body)["context"]
    # Then it carries the function's identity and limits, and a new request id each time
    assert first["function_name"] == "omnichannel-local-EchoFunction"
    assert first["function_version"] == "$LATEST"
    assert (
        first["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:omnichannel-local-EchoFunction"
    )
    assert first["memory_limit_in_mb"] == 256
    assert first["log_group_name"] == "/aws/lambda/omnichannel-local-EchoFunction"
    assert "[$LATEST]" in first["log_stream_name"]
    assert 0 < first["remaining_ms"] <= 5000
    assert first["aws_request_id"] != second["aws_request_id"]


def test_cors_preflight_is_answered_from_the_cors_configuration(runtime: LocalRuntime) -> None:
    # Given the API allows https://shop.example
    preflight = {"origin": "https://shop.example", "access-control-request-method": "POST"}
    # When a browser sends a preflight for an allowed and for another origin
    allowed = runtime.request("OPTIONS", "/v1/track", headers=preflight)
    refused = runtime.request("OPTIONS", "/v1/track", headers={**preflight, "origin": "https://evil.example"})
    # Then API Gateway answers both itself, granting only the configured origin
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert allowed.headers["access-control-allow-methods"] == "GET,POST"
    assert allowed.headers["access-control-allow-headers"] == "content-type,authorization"
    assert allowed.headers["access-control-max-age"] == "300"
    assert refused.status == 204
    assert "access-control-allow-origin" not in refused.headers


def test_cors_headers_replace_the_integrations_own_on_actual_requests(runtime: LocalRuntime) -> None:
    # Given the echo function sends its own (wrong) access-control-allow-origin
    # When a cross-origin request comes from the allowed origin
    response = runtime.request("GET", "/items/1", headers={"origin": "https://shop.example"})
    # Then the configured CORS headers win
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-expose-headers"] == "etag"


def test_the_local_bus_route_is_served_next_to_the_template_routes(runtime: LocalRuntime) -> None:
    # Given an event on the bus
    runtime.put_event("Order Completed", {"event_id": "e-1"}, source="fixture.shop")
    # When /_local/bus is asked for
    status, headers, body = runtime.request("GET", "/_local/bus")
    # Then it lists the event as the bus saw it
    assert status == 200
    assert headers["content-type"] == "application/json"
    [event] = json.loads(body)
    assert event["detail-type"] == "Order Completed"
    assert event["source"] == "fixture.shop"
    assert event["detail"] == {"event_id": "e-1"}
