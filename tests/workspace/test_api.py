"""/v1/invitations and /v1/members: inviting, re-roling, removing and resetting, by API key."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.workspace import AuditEntry, Invitation, PasswordReset, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import PASSWORD, make_tenant

PROBLEM = "application/problem+json"


def _roles(session: Session, workspace_id: str) -> dict[str, Role]:
    session.expire_all()
    return {user.email: role for user, role in WorkspaceService(session).members(workspace_id)}


def _shape(body: dict[str, object]) -> dict[str, object]:
    """What an answer says once what differs by design (ids, tokens, the email) is blanked."""
    blank = {"id", "token", "url", "email", "created_at", "expires_at"}
    return {key: ("*" if key in blank else value) for key, value in body.items()}


def test_an_invitation_answers_alike_for_an_unknown_email_and_another_workspaces_user(
    client: TestClient, session: Session
) -> None:
    """Same status, same body shape; neither names B's user, and nobody joins A."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")

    unknown = client.post(
        "/v1/invitations", headers=a.auth, json={"email": "nobody@nowhere.example"}
    )
    existing = client.post("/v1/invitations", headers=a.auth, json={"email": b.owner_email})

    assert (unknown.status_code, existing.status_code) == (201, 201)
    assert _shape(unknown.json()) == _shape(existing.json())
    assert _shape(existing.json()) == {
        "id": "*", "email": "*", "role": "viewer", "invited_by": a.admin_key_id,
        "created_at": "*", "expires_at": "*", "token": "*", "url": "*",
    }  # fmt: skip
    assert existing.json()["email"] == b.owner_email
    assert b.owner_id not in existing.text and b.workspace_id not in existing.text
    assert existing.json()["url"] == (
        f"http://testserver/invitations/accept?token={existing.json()['token']}"
    )
    assert _roles(session, a.workspace_id) == {a.owner_email: Role.OWNER}


def test_the_member_endpoint_no_longer_adds_anyone(client: TestClient, session: Session) -> None:
    """POST /v1/members with another workspace's user is 404 and says to invite; no join."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")

    response = client.post(
        "/v1/members", headers=a.auth, json={"email": b.owner_email, "role": "viewer"}
    )
    with_password = client.post(
        "/v1/members",
        headers=a.auth,
        json={"email": "new@alpha.example", "role": "viewer", "password": "p" * 12},
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/member-not-found")
    assert response.json()["detail"] == (
        f"{b.owner_email} is not a member of this workspace; invite them instead"
    )
    assert b.owner_id not in response.text
    assert with_password.status_code == 422
    assert _roles(session, a.workspace_id) == {a.owner_email: Role.OWNER}


def test_listing_and_revoking_invitations(client: TestClient, session: Session) -> None:
    """An open invitation is listed without its token, and revoked it leaves the list."""
    a = make_tenant(session, "alpha")
    created = client.post(
        "/v1/invitations", headers=a.auth, json={"email": "Ana@Alpha.example", "role": "analyst"}
    ).json()

    listed = client.get("/v1/invitations", headers=a.auth)
    revoked = client.post(f"/v1/invitations/{created['id']}/revoke", headers=a.auth)
    after = client.get("/v1/invitations", headers=a.auth)

    assert [(i["id"], i["email"], i["role"]) for i in listed.json()] == [
        (created["id"], "ana@alpha.example", "analyst")
    ]
    assert created["token"] not in listed.text
    assert revoked.status_code == 200
    assert after.json() == []
    stored = session.scalars(select(Invitation)).one()
    assert stored.revoked_at is not None


def test_an_admin_key_cannot_invite_an_owner_or_a_member_twice(
    client: TestClient, session: Session
) -> None:
    """Role above the key's: 403. Already a member here: 409. No invitation is stored."""
    a = make_tenant(session, "alpha")

    owner = client.post(
        "/v1/invitations", headers=a.auth, json={"email": "x@y.example", "role": "owner"}
    )
    member = client.post("/v1/invitations", headers=a.auth, json={"email": a.owner_email})

    assert (owner.status_code, member.status_code) == (403, 409)
    assert member.json()["type"].endswith("/already-member")
    assert session.scalars(select(Invitation)).all() == []


def test_an_admin_key_removes_a_member_but_not_an_owner(
    client: TestClient, session: Session
) -> None:
    """204 for an analyst (audited under the key); 403 for the owner, who stays."""
    a = make_tenant(session, "alpha")
    analyst = WorkspaceService(session).add_user(
        a.workspace_id, "ana@alpha.example", Role.ANALYST, PASSWORD
    )
    session.commit()

    removed = client.delete(f"/v1/members/{analyst.id}", headers=a.auth)
    owner = client.delete(f"/v1/members/{a.owner_id}", headers=a.auth)
    again = client.delete(f"/v1/members/{analyst.id}", headers=a.auth)

    assert removed.status_code == 204
    assert owner.status_code == 403
    assert owner.json()["type"].endswith("/role-too-low")
    assert again.status_code == 404
    assert _roles(session, a.workspace_id) == {a.owner_email: Role.OWNER}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.removed")).one()
    assert (entry.actor, entry.subject) == (a.admin_key_id, analyst.id)


def test_a_password_reset_returns_a_one_time_link(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    """201 with the link; an admin key cannot reset the owner (403) and no link is made."""
    a = make_tenant(session, "alpha")
    analyst = WorkspaceService(session).add_user(
        a.workspace_id, "ana@alpha.example", Role.ANALYST, PASSWORD
    )
    session.commit()

    reset = client.post(f"/v1/members/{analyst.id}/password-reset", headers=a.auth)
    owner = client.post(f"/v1/members/{a.owner_id}/password-reset", headers=a.auth)

    body = reset.json()
    assert reset.status_code == 201
    assert (body["user_id"], body["email"]) == (analyst.id, "ana@alpha.example")
    assert body["url"] == f"http://testserver/password-reset?token={body['token']}"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    assert owner.status_code == 403
    assert [r.user_id for r in session.scalars(select(PasswordReset))] == [analyst.id]


def test_changing_a_role_keeps_an_owner_and_respects_rank(
    client: TestClient, session: Session
) -> None:
    """An admin key demotes an analyst to viewer; it cannot touch the owner."""
    a = make_tenant(session, "alpha")
    WorkspaceService(session).add_user(a.workspace_id, "ana@alpha.example", Role.ANALYST, PASSWORD)
    session.commit()

    demoted = client.post(
        "/v1/members", headers=a.auth, json={"email": "ana@alpha.example", "role": "viewer"}
    )
    owner = client.post(
        "/v1/members", headers=a.auth, json={"email": a.owner_email, "role": "admin"}
    )

    assert demoted.status_code == 200
    assert demoted.json()["role"] == "viewer"
    assert owner.status_code == 403
    assert _roles(session, a.workspace_id) == {
        "ana@alpha.example": Role.VIEWER,
        a.owner_email: Role.OWNER,
    }
