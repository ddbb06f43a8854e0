"""Every list page of the dashboard on a workspace of 100k orders and 100k profiles, next to the
API's own answer to the same question, on PostgreSQL.

The rows are written with COPY (``bench_search``'s loader: a profile with its email, phone and
one order each), then each page is asked ``--requests`` times through the real app (ASGI, a
signed-in owner; the API with the owner's secret key) and its p50/p99 server time printed
beside the API's. The goal the dashboard issue sets: every list page under 300 ms.

    python -m bench.bench_pages [--profiles 100000] [--requests 20] [--reuse WORKSPACE_ID]
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import time
from collections.abc import Sequence

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from bench._database import bench_database_url, server_settings
from bench.bench_search import _load, _people
from tessera.app import create_app
from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService

PASSWORD = secrets.token_urlsafe(16)  # the bench owner signs in once
GOAL_MS = 300.0
# (name, dashboard page, the API's answer to the same question or None)
PAGES: tuple[tuple[str, str, str | None], ...] = (
    ("orders", "/orders", "/v1/orders"),
    ("orders, filtered", "/orders?channel=web&status=placed", "/v1/orders?channel=web"),
    ("customers", "/customers", None),  # no list API: the 360 is found by search
    ("customer search", "/customers?q=smith", "/v1/profiles?q=smith"),
    ("search as you type", "/customers/search?q=smith", "/v1/profiles?q=smith"),
    ("jobs", "/settings/jobs", "/v1/jobs"),
    ("quarantine", "/sources/quarantine", "/v1/quarantine"),
    ("audit log", "/settings/audit-log", "/v1/audit-log"),
    ("overview", "/", None),
    ("segments", "/segments", "/v1/segments"),
    ("messages", "/messages", "/v1/messages"),
    ("journeys", "/journeys", "/v1/journeys"),
    ("loyalty", "/loyalty", None),
    ("scorecard", "/measure", None),
)


def _owner(url: str, workspace_id: str | None) -> tuple[str, str, str]:
    """A workspace (new unless ``workspace_id``), its owner's email and an admin key."""
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as session:
        service = WorkspaceService(session)
        if workspace_id is None:
            workspace_id = service.create_workspace("Pages Bench", f"pages-{time.time_ns()}").id
        email = f"owner-{time.time_ns()}@pages.example"
        service.add_user(workspace_id, email, Role.OWNER, password=PASSWORD)
        _key, token = service.create_api_key(workspace_id, ApiKeyKind.SECRET, "bench", Role.ADMIN)
    return workspace_id, email, token


def _times(client: TestClient, path: str, requests: int, headers: dict[str, str]) -> list[float]:
    client.get(path, headers=headers)  # warm: templates compiled, plans cached
    taken = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        taken.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
    return taken


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench(url: str, profiles: int, requests: int, reuse: str | None) -> Table:
    workspace_id, email, token = _owner(url, reuse)
    if reuse is None:
        people = _people(profiles)
        tag = secrets.token_hex(3)  # ids of their own: bench_search may have loaded its rows
        base = secrets.randbelow(10**9) * 10**7
        for n, person in enumerate(people):
            person["id"] = f"cus_p{tag}{n:07d}"
            person["order"] = base + n  # every profile has one order: as many orders
        _load(make_engine(url), workspace_id, people)
    app = create_app(
        load_settings(database_url=url, environment="production", secret_key=secrets.token_hex(32))
    )
    table = Table(title=f"List pages, {profiles:,} profiles and orders (workspace {workspace_id})")
    for column in ("page", "path", "p50 ms", "p99 ms", "API p50", "API p99", "under 300 ms"):
        table.add_column(column, justify="left" if column in ("page", "path") else "right")
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None, "no CSRF token on /login"
        signed = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:200]
        api = {"Authorization": f"Bearer {token}"}
        for name, page, answer in PAGES:
            ours = _times(client, page, requests, {})
            theirs = _times(client, answer, requests, api) if answer else None
            p99 = _p(ours, 99)
            table.add_row(
                name,
                page,
                f"{_p(ours, 50):.1f}",
                f"{p99:.1f}",
                f"{_p(theirs, 50):.1f}" if theirs else "-",
                f"{_p(theirs, 99):.1f}" if theirs else "-",
                "yes" if p99 < GOAL_MS else "[red]no[/red]",
            )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_pages")
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", help="a workspace an earlier run loaded with as many rows")
    args = parser.parse_args(argv)
    console = Console()
    url = bench_database_url(console)
    if url is None:
        return 0
    console.print(f"PostgreSQL: {server_settings(url)}")
    with console.status(f"loading {args.profiles:,} profiles and orders, then asking each page"):
        table = bench(url, args.profiles, args.requests, args.reuse)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
