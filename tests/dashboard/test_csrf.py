"""Every unsafe dashboard request carries the session's CSRF token, or is refused unchanged."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from
from tests.support.factories import PASSWORD, Tenant


def _key_names(session: Session, workspace_id: str) -> list[str]:
    session.expire_all()
    return [key.name for key in WorkspaceService(session).list_api_keys(workspace_id).items]


def test_a_form_post_without_the_token_is_refused_and_changes_nothing(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """No token: 403 with a readable page, and no key is created."""
    before = _key_names(session, tenant.workspace_id)

    response = owner.post(
        "/settings/api-keys", data={"name": "forged", "kind": "secret", "role": "owner"}
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "This form has expired" in response.text
    assert "Reload the page and try again." in response.text
    assert _key_names(session, tenant.workspace_id) == before


def test_a_wrong_token_is_refused(owner: TestClient, tenant: Tenant, session: Session) -> None:
    """A token from another session (or made up) does not pass."""
    before = _key_names(session, tenant.workspace_id)

    response = owner.post(
        "/settings/api-keys",
        data={"name": "forged", "kind": "public", "csrf_token": "x" * 43},
    )

    assert response.status_code == 403
    assert _key_names(session, tenant.workspace_id) == before


def test_the_token_in_the_htmx_header_is_accepted(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """HTMX sends the token as X-CSRF-Token (from hx-headers on <body>) instead of a field."""
    token = csrf_from(owner.get("/settings/api-keys"))

    response = owner.post(
        "/settings/api-keys",
        data={"name": "website", "kind": "public"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )

    assert response.status_code == 200
    assert "website" in _key_names(session, tenant.workspace_id)


def test_the_body_tells_htmx_to_send_the_token(owner: TestClient) -> None:
    """Every page's <body> carries the token in hx-headers."""
    page = owner.get("/overview")

    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf_from(page)}"}}\'' in page.text


def test_signing_out_without_the_token_is_refused(owner: TestClient) -> None:
    """Another site cannot sign a user out either."""
    response = owner.post("/logout")
    after = owner.get("/overview", follow_redirects=False)

    assert response.status_code == 403
    assert after.status_code == 200


def test_the_login_form_needs_its_token_too(client: TestClient, tenant: Tenant) -> None:
    """Login CSRF (signing a victim into the attacker's account) is refused."""
    response = client.post(
        "/login",
        data={"email": tenant.owner_email, "password": PASSWORD},
        follow_redirects=False,
    )
    after = client.get("/overview", follow_redirects=False)

    assert response.status_code == 403
    assert after.status_code == 303
