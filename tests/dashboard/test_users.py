"""Settings → Users: the member list and changing roles (admins only)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.support.factories import PASSWORD, Tenant, make_tenant


def _members(session: Session, workspace_id: str) -> dict[str, Role]:
    session.expire_all()
    return {user.email: role for user, role in WorkspaceService(session).members(workspace_id)}


def _signed_in_as(client: TestClient, session: Session, tenant: Tenant, role: Role) -> None:
    email = f"{role.value}@acme.example"
    WorkspaceService(session).add_user(tenant.workspace_id, email, role, password=PASSWORD)
    session.commit()
    assert sign_in(client, email).status_code == 303


def test_the_list_shows_members_and_their_roles(owner: TestClient, tenant: Tenant) -> None:
    """Each member with their role pill; the signed-in user is marked."""
    page = owner.get("/settings/users").text

    assert f'<td>{tenant.owner_email} <span class="muted">(you)</span></td>' in page
    assert '<span class="pill pill-role-owner">owner</span>' in page


def test_an_owner_changes_a_members_role(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The new role shows, and the change is in the audit log under the owner's id."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "ana@acme.example", Role.VIEWER, password=PASSWORD
    )
    session.commit()
    token = csrf_from(owner.get("/settings/users"))

    response = owner.post(
        "/settings/users",
        data={"email": "Ana@Acme.example", "role": "analyst", "csrf_token": token},
        follow_redirects=False,
    )
    page = owner.get("/settings/users")

    assert response.status_code == 303
    assert "You changed the role of ana@acme.example: analyst." in page.text
    assert _members(session, tenant.workspace_id) == {
        "ana@acme.example": Role.ANALYST,
        tenant.owner_email: Role.OWNER,
    }
    entry = WorkspaceService(session).audit_log(tenant.workspace_id, 1).items[0]
    assert (entry.actor, entry.action) == (tenant.owner_id, "member.role_changed")


def test_the_role_form_adds_nobody(owner: TestClient, tenant: Tenant, session: Session) -> None:
    """Someone not a member here is 404 with the advice to invite; nobody is added."""
    make_tenant(session, "bravo")
    token = csrf_from(owner.get("/settings/users"))

    response = owner.post(
        "/settings/users",
        data={"email": "owner@bravo.example", "role": "viewer", "csrf_token": token},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 404
    assert response.text.startswith('<div id="users-panel" class="panel-stack">')
    assert "owner@bravo.example is not a member of this workspace; invite them instead" in (
        response.text
    )
    assert list(_members(session, tenant.workspace_id)) == [tenant.owner_email]


def test_a_viewer_sees_the_members_but_cannot_add_one(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """No form for a viewer, and posting it anyway is a 403 that changes nothing."""
    _signed_in_as(client, session, tenant, Role.VIEWER)
    before = _members(session, tenant.workspace_id)
    page = client.get("/settings/users")

    response = client.post(
        "/settings/users",
        data={"email": "viewer@acme.example", "role": "owner", "csrf_token": csrf_from(page)},
    )

    assert tenant.owner_email in page.text
    assert 'action="/settings/users"' not in page.text
    assert response.status_code == 403
    assert _members(session, tenant.workspace_id) == before


def test_an_admin_cannot_grant_a_role_above_their_own(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Admins add admins at most; the owner role is not offered and is refused when posted."""
    _signed_in_as(client, session, tenant, Role.ADMIN)
    before = _members(session, tenant.workspace_id)
    page = client.get("/settings/users")

    response = client.post(
        "/settings/users",
        data={"email": "admin@acme.example", "role": "owner", "csrf_token": csrf_from(page)},
    )

    assert '<option value="owner"' not in page.text
    assert response.status_code == 403
    assert "You cannot grant a role above your own (admin)." in response.text
    assert _members(session, tenant.workspace_id) == before


def test_an_admin_cannot_demote_an_owner(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Changing the role of someone ranked above you is refused."""
    _signed_in_as(client, session, tenant, Role.ADMIN)
    before = _members(session, tenant.workspace_id)
    token = csrf_from(client.get("/settings/users"))

    response = client.post(
        "/settings/users",
        data={"email": tenant.owner_email, "role": "viewer", "csrf_token": token},
    )

    assert response.status_code == 403
    assert f"{tenant.owner_email} is owner, above your role." in response.text
    assert _members(session, tenant.workspace_id) == before


def test_the_last_owner_cannot_step_down(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """A workspace keeps at least one owner."""
    token = csrf_from(owner.get("/settings/users"))

    response = owner.post(
        "/settings/users",
        data={"email": tenant.owner_email, "role": "admin", "csrf_token": token},
    )

    assert response.status_code == 422
    assert "A workspace keeps at least one owner." in response.text
    assert _members(session, tenant.workspace_id) == {tenant.owner_email: Role.OWNER}
