"""Helpers for dashboard tests: sign in through the real login form, read CSRF tokens from pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tests.support.factories import PASSWORD, Tenant, make_tenant

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: Response) -> str:
    """The CSRF token a rendered page put in its forms."""
    match = _TOKEN.search(page.text)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    """Fill in and send the login form, as a browser would; returns the answer to the POST."""
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form)},
        follow_redirects=False,
    )


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "acme")


@pytest.fixture
def owner(client: TestClient, tenant: Tenant) -> TestClient:
    """The client, signed in as the tenant's owner."""
    assert sign_in(client, tenant.owner_email).status_code == 303
    return client
