"""The OpenAPI tells the truth: every answer the server gives is one the spec documents.

Schemathesis generates requests for every operation from the spec itself and checks each
answer's status code, content type and body against what the operation documents, so a client
generated from the spec handles every answer. A few examples per operation keep the run short;
the hostile-input property (``test_hostile_input.py``) covers the strange values.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from tessera.app import create_app
from tessera.config import load_settings
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "spec")


def _spec() -> dict[str, Any]:
    """The spec as served (any database: the spec does not depend on one)."""
    return create_app(load_settings(database_url="sqlite:///:memory:")).openapi()


schema = schemathesis.openapi.from_dict(_spec())


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented_by_its_operation(
    case: Any, app: FastAPI, tenant: Tenant
) -> None:
    """Status code, content type and body of each answer are the ones its operation lists."""
    case.call_and_validate(app=app, headers=tenant.auth, checks=CHECKS)


def test_every_operation_documents_its_problems(app: FastAPI) -> None:
    """Each operation lists problem+json answers for what can go wrong with it: invalid input
    always, 401 and 403 when it needs a key, 404 when it names a thing, 413 with a body."""
    spec = app.openapi()
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            expected = {"422"}
            if operation.get("security"):
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            if "requestBody" in operation:
                expected |= {"400", "413"}
            for status in sorted(expected):
                answer = operation["responses"].get(status, {})
                media = answer.get("content", {}).get(PROBLEM, {})
                if media.get("schema") != {"$ref": "#/components/schemas/Problem"}:
                    missing.append(f"{method.upper()} {path} {status}")
    assert missing == []


def test_cursor_and_limit_parameters_document_their_bounds(app: FastAPI) -> None:
    """Every ``cursor`` has a maximum length and every ``limit`` a minimum and a maximum."""
    spec = app.openapi()
    unbounded = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema_of = parameter.get("schema", {})
                choices = schema_of.get("anyOf", [schema_of])
                bounded = (
                    any("maxLength" in c for c in choices)
                    if parameter["name"] == "cursor"
                    else any("minimum" in c and "maximum" in c for c in choices)
                )
                if parameter["name"] in ("cursor", "limit") and not bounded:
                    unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []
