"""Joining by invitation, removal and reset links in the dashboard, through the real forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.kit.time import ManualClock
from tessera.models.workspace import Invitation, Role
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.support.factories import PASSWORD, Tenant, make_tenant

_LINK = re.compile(r'id="new-link" class="token" type="text" readonly value="([^"]+)"')


def _members(session: Session, workspace_id: str) -> dict[str, Role]:
    session.expire_all()
    return {user.email: role for user, role in WorkspaceService(session).members(workspace_id)}


def _invite(owner: TestClient, email: str, role: str = "viewer") -> tuple[int, str, str]:
    """Send the invite form as an HTMX request; the status, the panel and the link in it."""
    token = csrf_from(owner.get("/settings/users"))
    response = owner.post(
        "/settings/invitations",
        data={"email": email, "role": role, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    match = _LINK.search(response.text)
    return response.status_code, response.text, match.group(1) if match else ""


def _path(link: str) -> str:
    return link.removeprefix("http://testserver")


@pytest.fixture
def bravo(session: Session) -> Tenant:
    return make_tenant(session, "bravo")


@pytest.fixture
def visitor(owner: TestClient) -> Iterator[TestClient]:
    """A second browser, signed in as nobody."""
    with TestClient(owner.app, raise_server_exceptions=False) as client:
        yield client


def test_an_invitation_reads_the_same_for_an_unknown_address_and_another_workspaces_user(
    owner: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """Same status, same panel once the address and link are blanked; nobody joins."""
    unknown_status, unknown_page, unknown_link = _invite(owner, "nobody@nowhere.example")
    known_status, known_page, known_link = _invite(owner, bravo.owner_email)

    def blank(page: str, email: str, link: str) -> str:
        """The panel above the list of open invitations (which grows by one), address and
        link blanked."""
        answer = page.split('aria-labelledby="invitations-title"')[0]
        return answer.replace(link, "LINK").replace(email, "EMAIL")

    assert (unknown_status, known_status) == (200, 200)
    assert known_link.startswith("http://testserver/invitations/accept?token=tin_")
    assert "Invitation for owner@bravo.example (viewer)" in known_page
    assert blank(
        unknown_page.replace("nobody@nowhere.example", "EMAIL"), "EMAIL", unknown_link
    ) == (blank(known_page, bravo.owner_email, known_link))
    assert bravo.owner_id not in known_page and "Bravo Brand" not in known_page
    assert _members(session, tenant.workspace_id) == {tenant.owner_email: Role.OWNER}


def test_a_new_person_joins_through_the_link_and_lands_in_the_workspace(
    owner: TestClient, visitor: TestClient, tenant: Tenant, session: Session
) -> None:
    """The link offers sign-in or a password; choosing one signs them in as a member."""
    _status, _page, link = _invite(owner, "new@acme.example", "analyst")
    page = visitor.get(_path(link))

    short = visitor.post(
        "/invitations/join",
        data={"token": link.split("token=")[1], "name": "Nia", "password": "short",
              "csrf_token": csrf_from(page)},
    )  # fmt: skip
    joined = visitor.post(
        "/invitations/join",
        data={"token": link.split("token=")[1], "name": "Nia",
              "password": "a long enough password", "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )  # fmt: skip
    overview = visitor.get("/overview")

    assert "new@acme.example is invited to join <strong>Acme Brand</strong>" in page.text
    assert "sign in to accept" in page.text
    assert short.status_code == 422
    assert "password must be at least 10 characters" in short.text
    assert (joined.status_code, joined.headers["location"]) == (303, "/overview")
    assert "Welcome to Acme Brand." in overview.text
    assert "you are <strong>analyst</strong>" in overview.text
    assert _members(session, tenant.workspace_id)["new@acme.example"] is Role.ANALYST


def test_someone_with_an_account_signs_in_and_accepts(
    owner: TestClient, visitor: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """Sign-in from the link comes back to it; accepting makes them a member of Acme."""
    _status, _page, link = _invite(owner, bravo.owner_email)
    page = visitor.get(_path(link))
    login_url = re.search(r'href="(/login\?next=[^"]+)"', page.text)
    assert login_url is not None
    form = visitor.get(login_url.group(1))

    signed_in = visitor.post(
        "/login",
        data={"email": bravo.owner_email, "password": PASSWORD,
              "next": f"/invitations/accept?token={link.split('token=')[1]}",
              "csrf_token": csrf_from(form)},
        follow_redirects=False,
    )  # fmt: skip
    accept_page = visitor.get(signed_in.headers["location"])
    accepted = visitor.post(
        "/invitations/accept",
        data={"token": link.split("token=")[1], "csrf_token": csrf_from(accept_page)},
        follow_redirects=False,
    )
    overview = visitor.get("/overview")

    assert 'name="next" value="/invitations/accept?token=' in form.text
    assert "Accept the invitation" in accept_page.text
    assert accepted.status_code == 303
    assert "<h1>Acme Brand</h1>" in overview.text
    assert _members(session, tenant.workspace_id)[bravo.owner_email] is Role.VIEWER


def test_the_link_never_sets_an_existing_accounts_password(
    owner: TestClient, visitor: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """Choosing a password for an address with an account is refused; the old one works."""
    _status, _page, link = _invite(owner, bravo.owner_email)
    page = visitor.get(_path(link))

    response = visitor.post(
        "/invitations/join",
        data={"token": link.split("token=")[1], "name": "Mallory",
              "password": "attacker-chosen-pw", "csrf_token": csrf_from(page)},
    )  # fmt: skip

    assert response.status_code == 409
    assert f"{bravo.owner_email} has an account: sign in to accept" in response.text
    assert sign_in(visitor, bravo.owner_email).status_code == 303
    assert bravo.owner_email not in _members(session, tenant.workspace_id)


def test_a_member_of_another_workspace_cannot_accept_someone_elses_invitation(
    owner: TestClient, visitor: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """Bravo's owner holding an invitation to another address: 403, nothing changes."""
    _status, _page, link = _invite(owner, "someone@acme.example", "admin")
    assert sign_in(visitor, bravo.owner_email).status_code == 303
    page = visitor.get(_path(link))

    response = visitor.post(
        "/invitations/accept",
        data={"token": link.split("token=")[1], "csrf_token": csrf_from(page)},
    )

    assert "This invitation is for someone@acme.example" in page.text
    assert "Accept the invitation" not in page.text
    assert response.status_code == 403
    assert bravo.owner_email not in _members(session, tenant.workspace_id)
    assert [i.email for i in MembershipService(session).invitations(tenant.workspace_id)] == [
        "someone@acme.example"
    ]


def test_a_link_used_twice_is_gone(
    owner: TestClient, visitor: TestClient, tenant: Tenant, session: Session
) -> None:
    """After joining, the same link is 410 and makes no second account or membership."""
    _status, _page, link = _invite(owner, "new@acme.example")
    page = visitor.get(_path(link))
    data = {"token": link.split("token=")[1], "name": "Nia",
            "password": "a long enough password", "csrf_token": csrf_from(page)}  # fmt: skip
    assert visitor.post("/invitations/join", data=data, follow_redirects=False).status_code == 303

    again = visitor.get(_path(link))
    with TestClient(owner.app, raise_server_exceptions=False) as third:
        form = third.get("/login")
        replay = third.post("/invitations/join", data={**data, "csrf_token": csrf_from(form)})

    assert again.status_code == 410
    assert "This link has already been used" in again.text
    assert replay.status_code == 410
    assert _members(session, tenant.workspace_id) == {
        "new@acme.example": Role.VIEWER,
        tenant.owner_email: Role.OWNER,
    }


def test_an_expired_link_is_gone(
    settings: Settings, session_factory: sessionmaker[Session], tenant: Tenant, session: Session
) -> None:
    """Seven days on the server's clock later, the link is 410 and nobody joins."""
    clock = ManualClock()
    issued = MembershipService(session, clock).invite(
        tenant.workspace_id, "late@acme.example", Role.VIEWER, actor="usr_x", grantor_role=None
    )
    session.commit()
    clock.advance(timedelta(days=7))
    app = create_app(settings, session_factory=session_factory, clock=clock)

    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get(f"/invitations/accept?token={issued.token}")
        form = client.get("/login")
        join = client.post(
            "/invitations/join",
            data={"token": issued.token, "password": "a long enough password",
                  "csrf_token": csrf_from(form)},
        )  # fmt: skip

    assert page.status_code == 410
    assert "This link has expired" in page.text
    assert join.status_code == 410
    assert "late@acme.example" not in _members(session, tenant.workspace_id)


def test_a_signed_in_user_accepts_from_their_list_of_invitations(
    owner: TestClient, visitor: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """/invitations lists what is addressed to them, and Accept joins."""
    _invite(owner, bravo.owner_email, "marketer")
    assert sign_in(visitor, bravo.owner_email).status_code == 303
    page = visitor.get("/invitations")
    [invitation] = session.scalars(select(Invitation)).all()

    accepted = visitor.post(
        f"/invitations/{invitation.id}/accept",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    after = visitor.get("/invitations")

    assert "<strong>Acme Brand</strong> as marketer" in page.text
    assert accepted.status_code == 303
    assert "No open invitations." in after.text
    assert _members(session, tenant.workspace_id)[bravo.owner_email] is Role.MARKETER


def test_an_admin_removes_a_member_but_not_the_owner(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Removing an analyst works; the owner has no Remove button and posting it is 403."""
    service = WorkspaceService(session)
    service.add_user(tenant.workspace_id, "admin@acme.example", Role.ADMIN, password=PASSWORD)
    analyst = service.add_user(tenant.workspace_id, "ana@acme.example", Role.ANALYST, PASSWORD)
    session.commit()
    assert sign_in(client, "admin@acme.example").status_code == 303
    page = client.get("/settings/users")

    removed = client.post(
        f"/settings/users/{analyst.id}/remove",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    owner = client.post(
        f"/settings/users/{tenant.owner_id}/remove", data={"csrf_token": csrf_from(page)}
    )

    assert f'action="/settings/users/{tenant.owner_id}/remove"' not in page.text
    assert removed.status_code == 303
    assert owner.status_code == 403
    assert f"{tenant.owner_email} is owner, above your role." in owner.text
    assert _members(session, tenant.workspace_id) == {
        "admin@acme.example": Role.ADMIN,
        tenant.owner_email: Role.OWNER,
    }


def test_a_reset_link_lets_the_member_choose_a_new_password_once(
    owner: TestClient, visitor: TestClient, tenant: Tenant, session: Session
) -> None:
    """The owner gets a link; through it the analyst sets a password and signs in with it."""
    analyst = WorkspaceService(session).add_user(
        tenant.workspace_id, "ana@acme.example", Role.ANALYST, PASSWORD
    )
    session.commit()
    panel = owner.post(
        f"/settings/users/{analyst.id}/password-reset",
        data={"csrf_token": csrf_from(owner.get("/settings/users"))},
        headers={"HX-Request": "true"},
    )
    match = _LINK.search(panel.text)
    assert match is not None
    link = match.group(1)
    page = visitor.get(_path(link))

    changed = visitor.post(
        "/password-reset",
        data={"token": link.split("token=")[1], "password": "a brand new password",
              "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )  # fmt: skip
    again = visitor.get(_path(link))

    assert link.startswith("http://testserver/password-reset?token=trs_")
    assert "For ana@acme.example. This link works once." in page.text
    assert (changed.status_code, changed.headers["location"]) == (303, "/login")
    assert again.status_code == 410
    assert sign_in(visitor, "ana@acme.example", "a brand new password").status_code == 303


def test_sign_in_lands_on_the_workspace_used_last(
    owner: TestClient, tenant: Tenant, bravo: Tenant, session: Session
) -> None:
    """After switching to Bravo and signing out, the next sign-in shows Bravo."""
    WorkspaceService(session).add_user(bravo.workspace_id, tenant.owner_email, Role.ANALYST)
    session.commit()
    page = owner.get("/overview")
    owner.post(
        "/workspace", data={"workspace_id": bravo.workspace_id, "csrf_token": csrf_from(page)}
    )
    owner.post("/logout", data={"csrf_token": csrf_from(owner.get("/overview"))})

    assert sign_in(owner, tenant.owner_email).status_code == 303
    overview = owner.get("/overview")

    assert "<h1>Bravo Brand</h1>" in overview.text
