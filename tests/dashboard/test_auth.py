"""Signing in and out of the dashboard, and the session cookie that carries it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.models.workspace import Membership
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.support.factories import PASSWORD, Tenant


def test_the_right_password_signs_in_and_lands_on_the_overview(
    client: TestClient, tenant: Tenant
) -> None:
    """Email and password of a member open the overview of their workspace."""
    response = sign_in(client, tenant.owner_email)
    overview = client.get("/overview")

    assert response.status_code == 303
    assert response.headers["location"] == "/overview"
    assert overview.status_code == 200
    assert "<h1>Acme Brand</h1>" in overview.text


def test_signing_in_records_the_login_time(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """A successful sign-in commits the user's last login time."""
    sign_in(client, tenant.owner_email)

    session.expire_all()
    user = WorkspaceService(session).get_user(tenant.owner_id)

    assert user is not None
    assert user.last_login_at is not None


def test_a_wrong_password_shows_an_inline_error_and_signs_nobody_in(
    client: TestClient, tenant: Tenant
) -> None:
    """The login form comes back with one vague error and the email kept; no session starts."""
    response = sign_in(client, tenant.owner_email, password="not the password")
    after = client.get("/overview", follow_redirects=False)

    assert response.status_code == 401
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Email or password is wrong." in response.text
    assert f'value="{tenant.owner_email}"' in response.text
    assert "Traceback" not in response.text
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=/overview"


def test_an_unknown_email_gets_the_same_error_as_a_wrong_password(
    client: TestClient, tenant: Tenant
) -> None:
    """Whether an email has an account is not revealed."""
    unknown = sign_in(client, "nobody@acme.example")
    wrong = sign_in(client, tenant.owner_email, password="not the password")

    assert unknown.status_code == wrong.status_code == 401
    assert "Email or password is wrong." in unknown.text


def test_signing_out_ends_the_session(owner: TestClient) -> None:
    """After signing out, pages send the visitor back to the login page."""
    page = owner.get("/overview")

    response = owner.post("/logout", data={"csrf_token": csrf_from(page)}, follow_redirects=False)
    login = owner.get(response.headers["location"])
    after = owner.get("/overview", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "You are signed out." in login.text
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=/overview"


def test_after_signing_in_the_visitor_returns_to_the_page_they_asked_for(
    client: TestClient, tenant: Tenant
) -> None:
    """A visitor sent to /login from a page goes back to that page once signed in."""
    bounced = client.get("/settings/users", follow_redirects=False)
    form = client.get(bounced.headers["location"])

    response = client.post(
        "/login",
        data={
            "email": tenant.owner_email,
            "password": PASSWORD,
            "next": "/settings/users",
            "csrf_token": csrf_from(form),
        },
        follow_redirects=False,
    )

    assert bounced.headers["location"] == "/login?next=/settings/users"
    assert 'name="next" value="/settings/users"' in form.text
    assert response.headers["location"] == "/settings/users"


def test_a_next_pointing_to_another_site_is_ignored(client: TestClient, tenant: Tenant) -> None:
    """An open redirect through the login form is not possible."""
    form = client.get("/login")

    response = client.post(
        "/login",
        data={
            "email": tenant.owner_email,
            "password": PASSWORD,
            "next": "//evil.example/steal",
            "csrf_token": csrf_from(form),
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/overview"


def test_the_session_cookie_is_httponly_and_samesite_lax(
    client: TestClient, tenant: Tenant
) -> None:
    """Scripts cannot read the session cookie and other sites' forms do not carry it."""
    response = sign_in(client, tenant.owner_email)

    cookie = response.headers["set-cookie"]

    assert cookie.startswith("tessera_session=")
    assert "; httponly" in cookie
    assert "; samesite=lax" in cookie
    assert "; secure" not in cookie


def test_in_production_the_session_cookie_is_secure(
    settings: Settings, session_factory: sessionmaker[Session], tenant: Tenant
) -> None:
    """With TESSERA_ENVIRONMENT=production the cookie is only ever sent over HTTPS."""
    production: FastAPI = create_app(
        settings.model_copy(update={"environment": "production"}), session_factory
    )

    with TestClient(production, base_url="https://testserver") as client:
        response = sign_in(client, tenant.owner_email)

    assert response.status_code == 303
    assert "; secure" in response.headers["set-cookie"]


def test_a_user_in_no_workspace_sees_why_instead_of_an_error(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Someone whose last membership was removed gets a page saying so, with a way out."""
    sign_in(client, tenant.owner_email)
    # No service removes members yet; this stands in for it.
    session.execute(delete(Membership).where(Membership.user_id == tenant.owner_id))
    session.commit()

    response = client.get("/overview")

    assert response.status_code == 403
    assert "You are not in any workspace yet" in response.text
    assert 'action="/logout"' in response.text
