"""Helpers for dashboard tests: sign in through the real login form, read CSRF tokens from pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import PASSWORD, Tenant, make_tenant

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: Response) -> str:
    """The CSRF token a rendered page put in its forms."""
    match = _TOKEN.search(page.text)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class _TableReader(HTMLParser):
    """The text of each cell of one table (found by id), row by row, header included."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # tables open inside the one wanted (0: not in it)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The cells' text of the table with ``table_id``, header row first; fails if absent."""
    reader = _TableReader(table_id)
    reader.feed(page)
    assert reader.rows, f"no table {table_id} on the page"
    return reader.rows


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    """Fill in and send the login form, as a browser would; returns the answer to the POST."""
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form)},
        follow_redirects=False,
    )


def member(client: TestClient, session: Session, tenant: Tenant, role: Role) -> TestClient:
    """The client signed in as a new member with ``role``."""
    email = f"{role.value}@{tenant.slug}.example"
    WorkspaceService(session).add_user(tenant.workspace_id, email, role, password=PASSWORD)
    session.commit()
    assert sign_in(client, email).status_code == 303
    return client


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "acme")


@pytest.fixture
def owner(client: TestClient, tenant: Tenant) -> TestClient:
    """The client, signed in as the tenant's owner."""
    assert sign_in(client, tenant.owner_email).status_code == 303
    return client
