"""Structural comparison of a sandbox response with a recorded QBO fixture."""

import json

from tests.references import QBO_FIXTURES

FIXTURES = QBO_FIXTURES  # a verbatim copy of shared/qbo-reference/fixtures (tests/references.py)


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


def differences(actual, expected, *, optional=frozenset(), path="$") -> list[str]:
    """What in `expected`'s shape `actual` lacks: missing keys and type mismatches, recursively.

    Extra keys in `actual` are allowed (objects carry what their data has). `optional` names
    keys (anywhere) that a fixture happens to have because of its data, e.g. ProjectRef.
    Lists compare every actual element with the fixture's first element of the same kind.
    """
    problems = []
    if kind(actual) != kind(expected):
        return [f"{path}: {kind(actual)} != {kind(expected)}"]
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                if key not in optional:
                    problems.append(f"{path}.{key}: missing")
                continue
            problems += differences(actual[key], value, optional=optional, path=f"{path}.{key}")
    elif isinstance(expected, list) and expected and actual:
        for i, item in enumerate(actual):
            # Compare with the fixture element this item resembles most (e.g. the same Line DetailType).
            candidates = [differences(item, c, optional=optional, path=f"{path}[{i}]") for c in expected]
            problems += min(candidates, key=len)
    return problems


def assert_same_shape(actual, name_or_body, *, optional=frozenset()):
    expected = fixture(name_or_body) if isinstance(name_or_body, str) else name_or_body
    problems = differences(actual, expected, optional=frozenset(optional))
    assert not problems, "\n".join(problems)
