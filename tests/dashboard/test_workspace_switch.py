"""The workspace switcher: members move between their workspaces, and only theirs."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from
from tests.support.factories import Tenant, make_tenant


def test_a_member_of_two_workspaces_switches_between_them(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The switcher lists both; choosing the other shows its overview and keeps the page."""
    other = make_tenant(session, "bravo")
    WorkspaceService(session).add_user(other.workspace_id, tenant.owner_email, Role.ANALYST)
    session.commit()
    page = owner.get("/settings/users")

    response = owner.post(
        "/workspace",
        data={
            "workspace_id": other.workspace_id,
            "next": "/settings/users",
            "csrf_token": csrf_from(page),
        },
        follow_redirects=False,
    )
    overview = owner.get("/overview")

    assert f'<option value="{other.workspace_id}">Bravo Brand (analyst)</option>' in page.text
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/users"
    assert "<h1>Bravo Brand</h1>" in overview.text
    assert "you are <strong>analyst</strong>" in overview.text


def test_switching_to_a_workspace_one_is_not_in_is_refused(
    owner: TestClient, session: Session
) -> None:
    """403, and the session still shows the user's own workspace."""
    other = make_tenant(session, "bravo")
    token = csrf_from(owner.get("/overview"))

    response = owner.post(
        "/workspace", data={"workspace_id": other.workspace_id, "csrf_token": token}
    )
    overview = owner.get("/overview")

    assert response.status_code == 403
    assert "You are not a member of that workspace" in response.text
    assert "<h1>Acme Brand</h1>" in overview.text
    assert "Bravo Brand" not in overview.text
