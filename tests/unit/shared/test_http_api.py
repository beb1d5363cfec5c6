"""The shared front door (omnichannel.http_api, omnichannel.json_input): one error body, one rule for field paths,
strict JSON, bodies decoded before routing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from omnichannel.http_api import (
    MAX_FIELD_CHARS,
    MAX_LISTED_ERRORS,
    ApiError,
    FieldError,
    error_body,
    parse_json,
    with_text_body,
)
from omnichannel.json_input import JsonLimits, NotJson, body_path, field_path, inspect_json


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (("body", "items", 0, "sku"), "items.0.sku"),
        (("body",), "body"),
        (("query", "end"), "query.end"),
        (("path", "store_id"), "path.store_id"),
        (("header", "If-Match"), "header.if-match"),
        (("body", "userId", "str"), "userId"),  # a union's member is not a field
        (("body", "lat", "function-after[_check(), float]"), "lat"),
    ],
)
def test_one_rule_names_every_field(location: tuple[Any, ...], expected: str) -> None:
    assert field_path(location) == expected


def test_a_body_path_keeps_a_documents_own_keys_and_takes_a_prefix() -> None:
    assert body_path(("properties", "str"), "batch.3.", validated=False) == "batch.3.properties.str"
    assert body_path((), "batch.3.") == "batch.3"


@pytest.mark.parametrize(
    ("text", "location", "reason"),
    [
        ('{"a": NaN}', ("a",), "NaN"),
        ('{"a": [1, -Infinity]}', ("a", 1), "Infinity"),
        ('{"a": 1e400}', ("a",), "too large"),
        ('{"a": 1e-200}', ("a",), "too small"),
        ('{"a": ' + "9" * 5000 + "}", ("a",), "5000 characters"),
        ('{"a": 1, "a": 2}', ("a",), "twice"),
        ('{"a": "\\ud800"}', ("a",), "surrogate"),
        ("[" * 21 + "]" * 21, (0,) * 20, "nested deeper than 20"),
    ],
)
def test_strict_json_names_what_json_loads_would_let_through_or_crash_on(
    text: str, location: tuple[Any, ...], reason: str
) -> None:
    _, problems = inspect_json(text)
    assert [problem.location for problem in problems] == [location]
    assert reason in problems[0].message


def test_strict_json_takes_ordinary_json_unchanged() -> None:
    text = '{"a": [1, 2.5, -0.0, 0, 1e-9, "ş\u200d😀", null, true], "b": {"c": 9007199254740991}}'
    value, problems = inspect_json(text)
    assert problems == []
    assert value == json.loads(text)


def test_limits_can_be_tighter_and_read_decimals() -> None:
    limits = JsonLimits(max_integer=2**53 - 1, max_magnitude=1e15, decimals=True)
    value, problems = inspect_json('{"a": 2.50, "b": 9007199254740992, "c": 1e16}', limits)
    assert str(value["a"]) == "2.50"
    assert [problem.location for problem in problems] == [("b",), ("c",)]


def test_text_that_is_not_json_at_all_is_refused() -> None:
    with pytest.raises(NotJson):
        inspect_json("{")
    with pytest.raises(NotJson):
        inspect_json("[" * 100_000)
    with pytest.raises(ApiError) as refused:
        parse_json('{"a": NaN}')
    assert refused.value.status == 400
    assert refused.value.errors == [FieldError("a", "NaN is not a number JSON allows")]


def test_the_error_body_is_one_shape_and_stays_small() -> None:
    # Given a refusal naming a thousand fields, one with a huge name and a lone surrogate
    errors = [FieldError("x" * 10_000 + "\ud800", "m" * 10_000)] + [FieldError(f"f{n}", "bad") for n in range(999)]
    body = error_body(ApiError(400, "invalid_request", "refused", errors=errors))
    # Then it lists at most MAX_LISTED_ERRORS, counts the rest, and every text is clipped and encodable
    assert set(body) == {"success", "code", "message", "errors", "more_errors"}
    assert body["success"] is False
    assert len(body["errors"]) == MAX_LISTED_ERRORS
    assert body["more_errors"] == 1000 - MAX_LISTED_ERRORS
    assert len(body["errors"][0]["field"]) <= MAX_FIELD_CHARS
    assert len(json.dumps(body, ensure_ascii=False).encode()) < 16 * 1024


def test_a_field_shorthand_names_one_field() -> None:
    assert error_body(ApiError(404, "not_found", "no such store", "path.store_id"))["errors"] == [
        {"field": "path.store_id", "message": "no such store"}
    ]


def _event(body: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True, "headers": headers or {}}


def test_a_body_is_decoded_before_routing() -> None:
    plain = with_text_body(_event('{"a": "ş"}'.encode(), {"content-type": "application/json"}))
    assert plain["body"] == '{"a": "ş"}'
    assert plain["isBase64Encoded"] is False
    assert plain["rawBodyBytes"] == '{"a": "ş"}'.encode()


@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        (_event(b'{"a": "\xff"}'), 400, "body"),
        ({"body": "not base64!", "isBase64Encoded": True, "headers": {}}, 400, "body"),
        (_event(b"{}", {"content-encoding": "gzip"}), 415, "header.content-encoding"),
        (_event(b"{}", {"content-type": "text/plain"}), 415, "header.content-type"),
        (_event(b"a=b", {"content-type": "application/x-www-form-urlencoded"}), 415, "header.content-type"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_before_routing(event: dict[str, Any], status: int, field: str) -> None:
    with pytest.raises(ApiError) as refused:
        with_text_body(event)
    assert (refused.value.status, refused.value.errors[0].field) == (status, field)


def test_json_media_types_with_a_suffix_or_parameters_are_json() -> None:
    for media in ("application/json; charset=utf-8", "application/merge-patch+json", "APPLICATION/JSON"):
        assert with_text_body(_event(b"{}", {"content-type": media}))["body"] == "{}"
