"""Settings → API keys: the list, creating a key (token shown once) and revoking one."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKey, ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.support.factories import PASSWORD, Tenant, make_tenant

_TOKEN_BOX = re.compile(r'id="new-token" class="token" type="text" readonly value="([^"]+)"')


def _keys(session: Session, workspace_id: str) -> list[ApiKey]:
    session.expire_all()
    return list(WorkspaceService(session).list_api_keys(workspace_id).items)


def _is_active(session: Session, workspace_id: str, key_id: str) -> bool:
    return {key.id: key.revoked_at for key in _keys(session, workspace_id)}[key_id] is None


def _viewer(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password=PASSWORD
    )
    session.commit()
    assert sign_in(client, "viewer@acme.example").status_code == 303
    return client


def test_the_list_shows_each_key_without_its_token(owner: TestClient, tenant: Tenant) -> None:
    """Name, kind, role, prefix and status are listed; tokens are never shown again."""
    page = owner.get("/settings/api-keys").text

    assert "<td><strong>admin</strong></td>" in page
    assert "<td><strong>web</strong></td>" in page
    assert f"<code>{tenant.admin_token[:12]}…</code>" in page
    assert tenant.admin_token not in page
    assert tenant.write_token not in page
    assert page.count('<span class="pill pill-active">active</span>') == 2


def test_creating_a_secret_key_shows_its_token_once_and_the_token_works(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The answer holds the token in a copy box, the next visit does not, and the API takes it."""
    form = owner.get("/settings/api-keys")

    created = owner.post(
        "/settings/api-keys",
        data={
            "name": "warehouse",
            "kind": "secret",
            "role": "analyst",
            "csrf_token": csrf_from(form),
        },
    )
    token = _TOKEN_BOX.search(created.text).group(1)  # type: ignore[union-attr]
    later = owner.get("/settings/api-keys")
    used = owner.get("/v1/workspace", headers={"Authorization": f"Bearer {token}"})

    assert created.status_code == 200
    assert token.startswith("tsk_")
    assert "Copy this token now." in created.text
    assert token not in later.text
    assert used.status_code == 200
    assert used.json()["slug"] == "acme"
    newest = _keys(session, tenant.workspace_id)[0]
    assert (newest.name, newest.kind, newest.role) == ("warehouse", ApiKeyKind.SECRET, Role.ANALYST)
    assert newest.created_by == tenant.owner_id


def test_creating_a_key_with_htmx_returns_only_the_keys_panel(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The HTMX answer is the panel to swap in (token box, form, table), not a whole page."""
    token = csrf_from(owner.get("/settings/api-keys"))

    response = owner.post(
        "/settings/api-keys",
        data={"name": "website", "kind": "public", "role": "admin", "csrf_token": token},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.startswith('<div id="keys-panel" class="panel-stack">')
    assert "<html" not in response.text
    assert _TOKEN_BOX.search(response.text).group(1).startswith("twk_")  # type: ignore[union-attr]
    newest = _keys(session, tenant.workspace_id)[0]
    assert (newest.name, newest.kind, newest.role) == ("website", ApiKeyKind.PUBLIC, None)


def test_a_key_without_a_name_is_refused_inline(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The form comes back with the service's message under the name field; nothing is created."""
    before = _keys(session, tenant.workspace_id)
    token = csrf_from(owner.get("/settings/api-keys"))

    response = owner.post(
        "/settings/api-keys",
        data={"name": "  ", "kind": "secret", "role": "viewer", "csrf_token": token},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 422
    assert '<p class="field-error" id="name-error">name must not be empty</p>' in response.text
    assert _keys(session, tenant.workspace_id) == before


def test_revoking_a_key_through_the_form_stops_it_at_once(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """After the revoke button, the key is listed as revoked and its token gets 401."""
    page = owner.get("/settings/api-keys")
    assert f'hx-confirm="Revoke “admin” ({tenant.admin_token[:12]}…)?' in page.text

    response = owner.post(
        f"/settings/api-keys/{tenant.admin_key_id}/revoke",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    after = owner.get(response.headers["location"])
    used = owner.get("/v1/workspace", headers=tenant.auth)

    assert response.status_code == 303
    assert f"Revoked “admin” ({tenant.admin_token[:12]}…)." in after.text
    assert after.text.count('<span class="pill pill-active">active</span>') == 1
    assert used.status_code == 401
    revoked = {key.id: key.revoked_at for key in _keys(session, tenant.workspace_id)}
    assert revoked[tenant.admin_key_id] is not None


def test_a_viewer_sees_the_keys_but_no_form_or_revoke_button(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Read-only for roles below admin."""
    viewer = _viewer(client, session, tenant)

    page = viewer.get("/settings/api-keys").text

    assert "<td><strong>admin</strong></td>" in page
    assert 'action="/settings/api-keys"' not in page
    assert "/revoke" not in page
    assert "an admin or owner can create and revoke them" in page


def test_a_viewer_cannot_create_a_key_even_by_posting_the_form(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """The server enforces the role, whatever the page showed: 403 and nothing created."""
    viewer = _viewer(client, session, tenant)
    before = _keys(session, tenant.workspace_id)
    token = csrf_from(viewer.get("/overview"))

    response = viewer.post(
        "/settings/api-keys",
        data={"name": "sneaky", "kind": "secret", "role": "owner", "csrf_token": token},
    )

    assert response.status_code == 403
    assert "Your role does not allow this" in response.text
    assert "you are viewer in Acme Brand" in response.text
    assert _keys(session, tenant.workspace_id) == before


def test_a_viewer_cannot_revoke_a_key(client: TestClient, tenant: Tenant, session: Session) -> None:
    """403 as an HTMX alert, and the key stays active."""
    viewer = _viewer(client, session, tenant)
    token = csrf_from(viewer.get("/overview"))

    response = viewer.post(
        f"/settings/api-keys/{tenant.admin_key_id}/revoke",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#alerts"
    assert response.text.startswith('<div class="alert alert-error" role="alert">')
    assert _is_active(session, tenant.workspace_id, tenant.admin_key_id)


def test_an_admin_cannot_create_a_key_above_their_own_role(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """An admin's owner-role key would hand out more power than they hold: refused inline."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "admin@acme.example", Role.ADMIN, password=PASSWORD
    )
    session.commit()
    sign_in(client, "admin@acme.example")
    before = _keys(session, tenant.workspace_id)
    page = client.get("/settings/api-keys")

    response = client.post(
        "/settings/api-keys",
        data={"name": "root", "kind": "secret", "role": "owner", "csrf_token": csrf_from(page)},
    )

    assert '<option value="owner"' not in page.text
    assert response.status_code == 403
    assert "You cannot create a key with more power than your own role (admin)." in response.text
    assert _keys(session, tenant.workspace_id) == before


def test_revoking_another_workspaces_key_is_not_found(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """A key id of workspace B is unknown in workspace A, and B's key keeps working."""
    other = make_tenant(session, "bravo")
    token = csrf_from(owner.get("/overview"))

    response = owner.post(
        f"/settings/api-keys/{other.admin_key_id}/revoke", data={"csrf_token": token}
    )

    assert response.status_code == 404
    assert "No such API key in this workspace" in response.text
    assert owner.get("/v1/workspace", headers=other.auth).status_code == 200
