"""Workspace A's key can neither read nor change workspace B's data, on every /v1 route."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import tests.support.isolation as isolation
from tessera.models import Base
from tests.support.factories import make_tenant

# Routes that take no secret key at all (public write-key collection and health) are listed here
# with the reason; everything else under /v1 must have a probe.
NOT_WORKSPACE_DATA: dict[str, str] = {}


def _api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every API route, also inside routers that FastAPI keeps nested."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield prefix + route.path, method
        elif hasattr(route, "original_router"):  # FastAPI >= 0.16x keeps included routers
            yield from _api_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )


def _rows_of(session: Session, workspace_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that belongs to ``workspace_id``, as plain data."""
    dump: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        if "workspace_id" not in table.c:
            continue
        rows = session.execute(select(table).where(table.c.workspace_id == workspace_id))
        dump[table.name] = sorted(
            (json.loads(json.dumps(dict(r._mapping), default=str)) for r in rows),
            key=lambda r: json.dumps(r, sort_keys=True),
        )
    return dump


def _ids_in(dump: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {row["id"] for rows in dump.values() for row in rows if "id" in row}


def test_no_route_lets_workspace_a_see_or_change_workspace_b(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    """Every /v1 route is probed, and each probe finds B's data invisible and unchanged."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    all_probes = [p for builder in isolation.BUILDERS for p in builder(session, b)]
    session.commit()
    covered = {(p.route, p.method) for p in all_probes}
    routes = {(path, method) for path, method in _api_routes(app.routes) if path.startswith("/v1")}
    documented = {
        (path, method.upper())
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method in operations
    }
    missing = sorted(r for r in routes - covered if r[0] not in NOT_WORKSPACE_DATA)
    before = _rows_of(session, b.workspace_id)
    b_ids = _ids_in(before) | {b.workspace_id}

    outcomes = []
    for probe in all_probes:
        response = client.request(probe.method, probe.path, headers=a.auth, json=probe.json)
        asked = probe.path + json.dumps(probe.json)  # echoing what the caller sent is no leak
        leaked = sorted(i for i in b_ids if i in response.text and i not in asked)
        outcomes.append((probe.method, probe.path, response.status_code, leaked))
    session.expire_all()
    after = _rows_of(session, b.workspace_id)

    assert documented and documented <= routes  # the walk sees every documented route
    assert missing == [], f"routes without an isolation probe: {missing}"
    assert [o for o in outcomes if o[3]] == []
    not_found = {(p.method, p.path) for p in all_probes if p.expect == "not_found"}
    assert [o for o in outcomes if (o[0], o[1]) in not_found and o[2] != 404] == []
    assert [o for o in outcomes if o[2] >= 500] == []
    assert after == before
