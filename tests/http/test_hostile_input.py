"""Hostile input is a 4xx on every /v1 operation, never a 5xx: a property over the OpenAPI.

Every operation the OpenAPI lists is driven with requests built from its own parameters and
body schema, where any string may be a hostile one (a NUL character, a lone surrogate, ten
thousand characters, SQL) and any number one outside what a column holds (past 32 and 64
bits, negative, fractional). The property: the answer is never 5xx, and a 4xx is
``application/problem+json``. It matters most on PostgreSQL, whose text refuses NUL and whose
integers are 32 or 64 bits; it runs on SQLite too.

The ``client`` and ``session`` fixtures span all examples of an operation (one transaction,
rolled back at the end), so the health check about function-scoped fixtures is suppressed
knowingly.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tessera.app import create_app
from tessera.config import load_settings
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
HOSTILE_TEXT = [
    "\x00", "sku\x00", "a\x00b\x00", "x" * 10_000, "'; DROP TABLE product; --", "%00", "\u202e",
    "😀", "", " ", "../../etc/passwd", "9223372036854775808", "NaN", "null", "ws_\x00",
    "2026-11-25T10:00:00Z\x00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
]  # fmt: skip
SURROGATES = ["\ud800", "a\udfffb"]  # only JSON can carry them (escaped)
HOSTILE_NUMBERS = [
    2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -1, 0, 1.5, 1e308, -1e308,
]  # fmt: skip
_NO_BODY = object()
PLAIN_TEXT = ["SERUM-30", "wh-main", "web", "shopify", "a@b.example", "USD", "x"]


@cache
def _openapi() -> dict[str, Any]:
    app = create_app(load_settings(database_url="sqlite:///:memory:", environment="test"))
    return app.openapi()


def _operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in _openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in item
    ]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = _openapi()["components"]["schemas"][name]
    return schema


def hostile_text(in_json: bool) -> st.SearchStrategy[str]:
    pool = HOSTILE_TEXT + (SURROGATES if in_json else [])
    return st.sampled_from(pool) | st.text(max_size=12)


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema describes, any leaf of which may instead be a hostile one."""
    schema = _resolve(schema)
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:
        return st.one_of([from_schema(choice, depth) for choice in choices])
    if "allOf" in schema:
        return from_schema(schema["allOf"][0], depth)
    hostile = hostile_text(True) | st.sampled_from(HOSTILE_NUMBERS)
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | hostile
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return st.just({})
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        extra = schema.get("additionalProperties")
        shaped = st.fixed_dictionaries(
            {
                name: from_schema(sub, depth + 1)
                for name, sub in properties.items()
                if name in required
            },
            optional={
                name: from_schema(sub, depth + 1)
                for name, sub in properties.items()
                if name not in required
            },
        )
        if extra:
            values = from_schema(extra if isinstance(extra, dict) else {}, depth + 1)
            more = st.dictionaries(hostile_text(True), values, max_size=3)
            return st.tuples(shaped, more).map(lambda pair: {**pair[1], **pair[0]})
        return shaped
    if kind == "array":
        if depth > 4:
            return st.just([])
        return st.lists(from_schema(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "integer":
        low, high = schema.get("minimum", -1000), schema.get("maximum", 1000)
        return st.integers(low, high) | st.sampled_from(HOSTILE_NUMBERS)
    if kind == "number":
        return st.floats(-1e6, 1e6) | st.sampled_from(HOSTILE_NUMBERS)
    if kind == "boolean":
        return st.booleans() | hostile
    if kind == "null":
        return st.none()
    if kind == "string":
        plain = st.sampled_from(PLAIN_TEXT)
        if schema.get("format") == "date-time":
            plain = st.sampled_from(["2026-11-25T10:00:00Z", "2026-11-25T10:00:00+01:00"])
        return plain | hostile_text(True)
    json_leaf = st.none() | st.booleans() | st.sampled_from(HOSTILE_NUMBERS) | hostile_text(True)
    return st.recursive(
        json_leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(hostile_text(True), inner, max_size=3)
        ),
        max_leaves=6,
    )


def parameter_value(parameter: dict[str, Any], tenant: Tenant) -> st.SearchStrategy[Any]:
    schema = _resolve(parameter.get("schema", {}))
    hostile = hostile_text(False) | st.sampled_from(HOSTILE_NUMBERS)
    if parameter["in"] == "path":
        return st.sampled_from([tenant.workspace_id, tenant.owner_id, "SERUM-30"]) | hostile
    kinds = {choice.get("type") for choice in schema.get("anyOf", [schema])}
    if "integer" in kinds:
        return st.integers(1, 50) | hostile
    return (
        from_schema(schema).filter(lambda v: not isinstance(v, (dict, list)) and url_safe(v))
        | hostile
    )


def url_safe(value: Any) -> bool:
    """Whether a value can be written in a URL at all (a lone surrogate cannot)."""
    return not isinstance(value, str) or all(not 0xD800 <= ord(c) <= 0xDFFF for c in value)


@st.composite
def requests(draw: st.DrawFn, method: str, path: str, tenant: Tenant) -> dict[str, Any]:
    """One request to the operation: its path filled in, some query parameters, a body."""
    operation = _openapi()["paths"][path][method.lower()]
    url = path
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] not in ("path", "query"):
            continue
        if parameter["in"] == "query" and not draw(st.booleans()):
            continue
        value = draw(parameter_value(parameter, tenant))
        text = value if isinstance(value, str) else str(value)
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", quote(text, safe=""))
        else:
            query[parameter["name"]] = text
    body: Any = _NO_BODY
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = draw(from_schema(content["application/json"]["schema"]))
    elif method in ("POST", "PUT", "PATCH"):
        body = draw(from_schema({}))
    encoded = None if body is _NO_BODY else json.dumps(body).encode()  # surrogates escaped
    return {"method": method, "url": url, "params": query, "content": encoded}


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "hostile")


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_operation_answers_5xx_to_hostile_strings_and_numbers(
    client: TestClient, tenant: Tenant, method: str, path: str
) -> None:
    """Whatever strings and numbers an operation is sent, it answers below 500, and every
    refusal is problem+json."""

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one transaction across examples, on purpose
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(request=requests(method, path, tenant))
    def check(request: dict[str, Any]) -> None:
        response = client.request(
            request["method"],
            request["url"],
            params=request["params"],
            content=request["content"],
            headers={**tenant.auth, "Content-Type": "application/json"},
        )

        assert response.status_code < 500, (request, response.text[:500])
        if response.status_code >= 400:
            assert response.headers["content-type"] == PROBLEM, (request, response.text[:300])

    check()
