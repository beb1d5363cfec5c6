"""Value tests for property filters and trait / KPI conditions (pure).

A filter maps a dotted path to a test. A test is a plain value (equals) or an object of operators, all of which
must hold: ``eq``, ``ne``, ``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``exists``, ``contains``.
Numbers compare as decimals (``"5000"`` equals ``5000.0``; two texts compare as text); ``true`` equals only
``true``. A path that meets a list looks into each element: ``properties.products.category: coffee`` holds when
any product's category is coffee; ``ne``, ``not_in`` and ``exists: false`` must hold for every element, and
``contains`` tests the list (or text) itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

MISSING: Final = object()
NEGATIVE = frozenset({"ne", "not_in"})


def as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    a, b = as_decimal(left), as_decimal(right)
    if a is not None and b is not None:
        return a == b
    return bool(left == right)


def _order(left: Any, right: Any) -> int | None:
    if isinstance(left, str) and isinstance(right, str) and (as_decimal(left) is None or as_decimal(right) is None):
        return (left > right) - (left < right)
    a, b = as_decimal(left), as_decimal(right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def operator_holds(operator: str, expected: Any, value: Any) -> bool:
    """One operator against one value (``MISSING`` when the path is absent)."""
    if value is MISSING or value is None:
        return operator in NEGATIVE
    if operator == "eq":
        return equal(value, expected)
    if operator == "ne":
        return not equal(value, expected)
    if operator == "in":
        return any(equal(value, option) for option in expected)
    if operator == "not_in":
        return not any(equal(value, option) for option in expected)
    if operator == "contains":
        if isinstance(value, str):
            return isinstance(expected, str) and expected in value
        return isinstance(value, list) and any(equal(item, expected) for item in value)
    order = _order(value, expected)
    if order is None:
        return False
    if operator == "gt":
        return order > 0
    if operator == "gte":
        return order >= 0
    if operator == "lt":
        return order < 0
    if operator == "lte":
        return order <= 0
    raise ValueError(f"unknown operator {operator!r}")


def _reached(document: Any, path: str) -> list[Any]:
    """The values at a dotted path, looking into lists on the way; the final value as it is."""
    nodes = [document]
    for part in path.split("."):
        following = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, Mapping) and part in item:
                    following.append(item[part])
        nodes = following
    return nodes


def passes(test: Any, values: list[Any]) -> bool:
    """A test against the values a path reached (none: the path is absent)."""
    wholes = values or [MISSING]
    elements = [element for value in wholes for element in (value if isinstance(value, list) else [value])] or [MISSING]
    if not isinstance(test, Mapping):
        return any(equal(element, test) for element in elements if element is not MISSING)
    for operator, expected in test.items():
        if operator == "exists":
            present = any(element is not MISSING and element is not None for element in elements)
            if present is not bool(expected):
                return False
        elif operator == "contains":
            if not any(operator_holds(operator, expected, whole) for whole in wholes):
                return False
        elif operator in NEGATIVE:
            if not all(operator_holds(operator, expected, element) for element in elements):
                return False
        elif not any(operator_holds(operator, expected, element) for element in elements):
            return False
    return True


def path_holds(document: Any, path: str, test: Any) -> bool:
    return passes(test, _reached(document, path))


def filter_holds(document: Any, where: Mapping[str, Any]) -> bool:
    """Every path's test holds (an empty filter always holds)."""
    return all(path_holds(document, path, test) for path, test in where.items())
