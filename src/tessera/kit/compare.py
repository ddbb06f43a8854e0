"""A stored value against a typed one, the way rules over a person's traits compare them:
``eq``/``ne`` (numbers as numbers, booleans and text case-insensitive), ``contains`` (an item
of a list, or text inside text), ``gt``/``gte``/``lt``/``lte`` (numbers, else text, so ISO
dates order), ``exists``/``not_exists``. A missing value is ``ne`` anything and nothing else.
Journeys' conditions and segments' rules share it, so one trait reads the same in both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists", "not_exists")


def holds(values: Mapping[str, Any], name: str, op: str, expected: Any) -> bool:
    """Whether ``values[name] op expected``; an unknown ``op`` is a programming error."""
    present = values.get(name) is not None
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if not present:
        return op == "ne"
    actual = values[name]
    if op == "eq":
        return same(actual, expected)
    if op == "ne":
        return not same(actual, expected)
    if op == "contains":
        if isinstance(actual, list):
            return any(same(item, expected) for item in actual)
        return isinstance(actual, str) and str(expected).lower() in actual.lower()
    ordered = _ordered(actual, expected)
    if ordered is None:
        return False
    left, right = ordered
    answers: dict[str, bool] = {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }
    return answers[op]


def same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    if isinstance(actual, dict | list):
        return False
    return str(actual).strip().lower() == str(expected).strip().lower()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _ordered(actual: Any, expected: Any) -> tuple[Any, Any] | None:
    """Both sides as numbers, else both as text (ISO dates order as text); None otherwise."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left, right
    if isinstance(actual, str) and isinstance(expected, str):
        return actual, expected
    return None
