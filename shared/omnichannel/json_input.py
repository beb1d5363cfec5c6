"""Reading JSON that strangers send, and naming the fields refused in it. No HTTP here: the front door
(``omnichannel.http_api``) and capture's logic both use it.

- :func:`inspect_json` parses like ``json.loads`` but refuses, naming the field, what ``json.loads`` lets through or
  crashes on: ``NaN`` and ``Infinity``, numbers beyond :class:`JsonLimits` (``1e400`` would become infinity, then
  ``null`` when stored), integers of thousands of digits (``ValueError`` past 4,300), a key repeated in an object
  (parsers disagree on which one wins), lone surrogates (no UTF-8 encoding), nesting deeper than ``max_depth``.
- :func:`field_path` is the one rule for naming a field: a body field is its dotted path from the body's root
  (``items.0.sku``, ``batch.3.userId``), the whole body ``body``; a query parameter, path parameter or header is
  prefixed by where it was sent (``query.end``, ``path.store_id``, ``header.if-match``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

REQUEST_PARTS = {"query": "query", "path": "path", "header": "header", "headers": "header", "cookie": "cookie"}


# Pydantic names the member of a union it tried (``userId.str``, ``lat.function-after[...]``): not a field.
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|dict\[.*|list\[.*|constrained-.*|function-.*|.*\[.*\].*)$")


def field_path(location: Sequence[str | int], prefix: str = "") -> str:
    """The one rule, for a location that starts with where it was sent (Powertools' and pydantic's ``loc``):
    ``("body", "items", 0, "sku")`` → ``items.0.sku``; ``("query", "end")`` → ``query.end``;
    ``("header", "If-Match")`` → ``header.if-match``. Anything else is read as a path in the body."""
    parts = [str(part) for part in location]
    if parts and parts[0] in REQUEST_PARTS:
        where = REQUEST_PARTS[parts[0]]
        rest = [part.lower() if where == "header" else part for part in parts[1:]]
        return ".".join([where, *rest])
    return body_path(parts[1:] if parts and parts[0] == "body" else parts, prefix)


def body_path(location: Sequence[str | int], prefix: str = "", *, validated: bool = True) -> str:
    """A field of the body: its dotted path from the body's root, ``prefix`` (a batch's ``batch.3.``) before it;
    the root itself is ``body`` (or the prefix). In a ``validated`` location (pydantic's) the names of a union's
    members (``userId.str``) are not fields and are left out; a JSON document's own keys are kept as they are."""
    parts = [str(part) for part in location if not (validated and _UNION_MEMBER.match(str(part)))]
    if not parts:
        return prefix.rstrip(".") or "body"
    return prefix + ".".join(parts)


@dataclass(frozen=True)
class JsonLimits:
    """What a JSON body may hold. The defaults: what every table can store (DynamoDB keeps 38 digits, magnitudes
    1e-130 to 1e125, and 32 levels of nesting of which an item's own attributes take some)."""

    max_depth: int = 20
    max_integer: int = 10**38 - 1
    max_magnitude: float = 1e125
    min_magnitude: float = 1e-130
    max_number_chars: int = 64
    decimals: bool = False  # fractions as Decimal (exact money), else float

    def describe(self) -> str:
        return f"between -{self.max_magnitude:g} and {self.max_magnitude:g}"


DEFAULT_LIMITS = JsonLimits()


class _Refused:
    """A JSON value refused while parsing; the walk after parsing names its field."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _RepeatedKeys(dict[str, Any]):
    """A JSON object that names a key twice (parsers disagree on which one wins: refuse it)."""

    repeated: tuple[str, ...] = ()


def _decoder(limits: JsonLimits, refusals: list[int]) -> json.JSONDecoder:
    """A decoder that marks what it refuses (and counts it in ``refusals``) instead of failing or letting it by."""

    def refuse(reason: str) -> _Refused:
        refusals[0] += 1
        return _Refused(reason)

    def parse_int(text: str) -> Any:
        if len(text) > limits.max_number_chars:
            return refuse(f"a number of {len(text)} characters; at most {limits.max_number_chars}")
        value = int(text)
        if abs(value) > limits.max_integer:
            return refuse(f"an integer out of range (at most {limits.max_integer:.4g} either way)")
        return value

    def parse_float(text: str) -> Any:
        if len(text) > limits.max_number_chars:
            return refuse(f"a number of {len(text)} characters; at most {limits.max_number_chars}")
        value = float(text)
        if not math.isfinite(value) or abs(value) > limits.max_magnitude:
            return refuse(f"a number too large: must be {limits.describe()}")
        if value and abs(value) < limits.min_magnitude:
            return refuse(f"a number too small: send 0 or a magnitude of at least {limits.min_magnitude:g}")
        return Decimal(text) if limits.decimals else value

    def parse_constant(name: str) -> Any:
        return refuse(f"{name} is not a number JSON allows")

    def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        refusals[0] += 1
        repeated = _RepeatedKeys(found)
        repeated.repeated = tuple(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        return repeated

    return json.JSONDecoder(
        parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant, object_pairs_hook=object_pairs
    )


def _valid_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class JsonProblem:
    """A refused part of a JSON document: where (keys and indexes from the root) and why."""

    location: tuple[str | int, ...]
    message: str

    def field(self, prefix: str = "") -> str:
        """The field's name by the one rule, ``prefix`` (a batch's ``batch.3.``) before it."""
        return body_path(self.location, prefix, validated=False)


def _walk(value: Any, limits: JsonLimits) -> list[JsonProblem]:
    """Every refused value, repeated key, lone surrogate and too-deep container, in document order."""
    problems: list[JsonProblem] = []
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(value, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= limits.max_depth:
                problems.append(JsonProblem(path, f"nested deeper than {limits.max_depth} levels"))
                continue
            if isinstance(node, _RepeatedKeys):
                problems += [JsonProblem((*path, key), "the key appears twice") for key in node.repeated]
            items = node.items() if isinstance(node, dict) else enumerate(node)
            children = []
            for key, item in items:
                if isinstance(key, str) and not _valid_unicode(key):
                    problems.append(JsonProblem((*path, key), "the key is not valid Unicode"))
                    continue
                if isinstance(item, dict | list | str | _Refused):
                    children.append((item, (*path, key), depth + 1))
            stack.extend(reversed(children))
        elif isinstance(node, _Refused):
            problems.append(JsonProblem(path, node.reason))
        elif isinstance(node, str) and not _valid_unicode(node):
            problems.append(JsonProblem(path, "not valid Unicode (a lone surrogate)"))
    return problems


def inspect_json(text: str | bytes, limits: JsonLimits = DEFAULT_LIMITS) -> tuple[Any, list[JsonProblem]]:
    """The parsed value and the parts refused in it (the caller decides: refuse all, or only the parts that hold
    them, as a batch does). Raises :class:`NotJson` when the text is not JSON at all."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotJson("invalid_body", "the body is not UTF-8 text") from exc
    refusals = [0]
    try:
        value = _decoder(limits, refusals).decode(text)
    except json.JSONDecodeError as exc:
        message = f"the body is not valid JSON: {exc.msg} at position {exc.pos}"
        raise NotJson("invalid_json", message) from exc
    except RecursionError as exc:
        raise NotJson("invalid_json", f"the body is nested deeper than {limits.max_depth} levels") from exc
    if not refusals[0] and not _SURROGATE_ESCAPE.search(text) and not _deeper_than(value, limits.max_depth):
        return value, []  # nothing to name: no need to walk the document
    return value, _walk(value, limits)


# A lone surrogate can only come from an escape of U+D800 to U+DFFF (decoded text holds none of its own).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (the quick check of a document with nothing refused)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            children: Any = node.values()
        elif type(node) is list:
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return False


class NotJson(ValueError):
    """The text is not JSON at all (or not UTF-8)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
