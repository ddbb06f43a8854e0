"""Joining and leaving workspaces: invitations, removal, role changes, reset links, landing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.time import ManualClock
from tessera.models.workspace import AuditEntry, Invitation, PasswordReset, Role, User
from tessera.workspace.errors import (
    AccountExists,
    InvitationForAnotherEmail,
    InvitationNotFound,
    LastOwner,
    LinkExpired,
    LinkRevoked,
    LinkUsed,
    RoleTooLow,
    SharedLogin,
    WeakPassword,
)
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService
from tests.support.factories import PASSWORD, Tenant, make_tenant


def _roles(session: Session, workspace_id: str) -> dict[str, Role]:
    session.expire_all()
    return {user.email: role for user, role in WorkspaceService(session).members(workspace_id)}


def _actions(session: Session, workspace_id: str) -> list[tuple[str, str]]:
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.workspace_id == workspace_id).order_by(AuditEntry.id)
    ).all()
    return [(entry.actor, entry.action) for entry in entries]


def _user(session: Session, email: str) -> User:
    user = WorkspaceService(session).repository.user_by_email(email)
    assert user is not None
    return user


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def acme(session: Session) -> Tenant:
    return make_tenant(session, "acme")


@pytest.fixture
def bravo(session: Session) -> Tenant:
    return make_tenant(session, "bravo")


def test_an_invitation_adds_nobody_and_keeps_only_its_token_hash(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """Inviting B's owner into A makes no membership; the token is stored only as a hash."""
    issued = MembershipService(session, clock).invite(
        acme.workspace_id, " Owner@Bravo.example", Role.ANALYST, actor="usr_a", grantor_role=None
    )

    stored = session.scalars(select(Invitation)).one()
    assert issued.token.startswith("tin_")
    assert issued.token not in stored.token_hash
    assert (stored.email, stored.role, stored.invited_by) == (
        "owner@bravo.example",
        Role.ANALYST,
        "usr_a",
    )
    assert stored.expires_at == clock.now + timedelta(days=7)
    assert _roles(session, acme.workspace_id) == {acme.owner_email: Role.OWNER}
    assert _actions(session, acme.workspace_id)[-1] == ("usr_a", "invitation.created")


def test_the_addressee_accepts_once_and_a_second_use_changes_nothing(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """Accepting makes B's owner an analyst of A; the same token again is 'used' (410)."""
    service = MembershipService(session, clock)
    issued = service.invite(
        acme.workspace_id, bravo.owner_email, Role.ANALYST, actor="usr_a", grantor_role=None
    )
    user = _user(session, bravo.owner_email)

    workspace = service.accept(user, token=issued.token)
    with pytest.raises(LinkUsed):
        service.accept(user, token=issued.token)

    assert workspace.id == acme.workspace_id
    assert _roles(session, acme.workspace_id)[bravo.owner_email] is Role.ANALYST
    assert user.last_workspace_id == acme.workspace_id
    assert _actions(session, acme.workspace_id)[-1] == (bravo.owner_id, "invitation.accepted")


def test_an_expired_invitation_is_refused_and_changes_nothing(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """Seven days later the link is 'expired' (410) and nobody joined."""
    service = MembershipService(session, clock)
    issued = service.invite(
        acme.workspace_id, bravo.owner_email, Role.VIEWER, actor="usr_a", grantor_role=None
    )
    clock.advance(timedelta(days=7))

    with pytest.raises(LinkExpired):
        service.accept(_user(session, bravo.owner_email), token=issued.token)

    assert bravo.owner_email not in _roles(session, acme.workspace_id)


def test_a_revoked_or_replaced_invitation_is_refused(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """Revoking closes a link; inviting the same email again closes the previous link."""
    service = MembershipService(session, clock)
    first = service.invite(
        acme.workspace_id, bravo.owner_email, Role.VIEWER, actor="usr_a", grantor_role=None
    )
    second = service.invite(
        acme.workspace_id, bravo.owner_email, Role.ANALYST, actor="usr_a", grantor_role=None
    )
    service.revoke_invitation(acme.workspace_id, second.invitation.id, actor="usr_a")
    user = _user(session, bravo.owner_email)

    with pytest.raises(LinkRevoked):
        service.accept(user, token=first.token)
    with pytest.raises(LinkRevoked):
        service.accept(user, token=second.token)

    assert bravo.owner_email not in _roles(session, acme.workspace_id)
    assert service.invitations(acme.workspace_id) == []


def test_nobody_accepts_an_invitation_addressed_to_another_email(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """A's owner holding B's owner's link is refused (403) and the invitation stays open."""
    service = MembershipService(session, clock)
    issued = service.invite(
        bravo.workspace_id, "someone@else.example", Role.ADMIN, actor="usr_b", grantor_role=None
    )

    with pytest.raises(InvitationForAnotherEmail):
        service.accept(_user(session, acme.owner_email), token=issued.token)
    with pytest.raises(InvitationNotFound):  # by id: not found, never 'forbidden'
        service.accept(_user(session, acme.owner_email), invitation_id=issued.invitation.id)

    assert acme.owner_email not in _roles(session, bravo.workspace_id)
    assert [i.id for i in service.invitations(bravo.workspace_id)] == [issued.invitation.id]


def test_a_new_person_joins_through_the_link_with_a_password(
    session: Session, acme: Tenant, clock: ManualClock
) -> None:
    """No account yet: the link creates one with the chosen password and joins the workspace."""
    service = MembershipService(session, clock)
    issued = service.invite(
        acme.workspace_id, "new@acme.example", Role.MARKETER, actor="usr_a", grantor_role=None
    )

    with pytest.raises(WeakPassword):
        service.join_with_new_account(issued.token, "Nia", "short")
    user, workspace = service.join_with_new_account(issued.token, "Nia", "a long enough password")
    assert workspace.id == acme.workspace_id

    signed_in = WorkspaceService(session).authenticate_password(
        "new@acme.example", "a long enough password"
    )
    assert signed_in.id == user.id
    assert _roles(session, acme.workspace_id)["new@acme.example"] is Role.MARKETER
    assert user.name == "Nia"


def test_the_link_never_sets_the_password_of_an_existing_account(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """An invitation to an existing account cannot be used to choose its password (409)."""
    service = MembershipService(session, clock)
    issued = service.invite(
        acme.workspace_id, bravo.owner_email, Role.VIEWER, actor="usr_a", grantor_role=None
    )

    with pytest.raises(AccountExists):
        service.join_with_new_account(issued.token, "Mallory", "attacker-chosen-pw")

    assert WorkspaceService(session).authenticate_password(bravo.owner_email, PASSWORD)
    assert bravo.owner_email not in _roles(session, acme.workspace_id)


def test_an_admin_cannot_remove_an_owner_nor_the_last_owner_leave(
    session: Session, acme: Tenant, clock: ManualClock
) -> None:
    """Removing an owner needs an owner, and a workspace keeps at least one owner."""
    workspaces = WorkspaceService(session)
    admin = workspaces.add_user(acme.workspace_id, "admin@acme.example", Role.ADMIN, PASSWORD)
    service = MembershipService(session, clock)
    before = _roles(session, acme.workspace_id)

    with pytest.raises(RoleTooLow):
        service.remove_member(
            acme.workspace_id, acme.owner_id, actor=admin.id, actor_role=Role.ADMIN
        )
    with pytest.raises(LastOwner):
        service.remove_member(
            acme.workspace_id, acme.owner_id, actor=acme.owner_id, actor_role=Role.OWNER
        )
    with pytest.raises(LastOwner):
        service.change_role(
            acme.workspace_id, acme.owner_id, Role.ADMIN, actor="cli", actor_role=None
        )

    assert _roles(session, acme.workspace_id) == before


def test_an_owner_removes_an_admin_whose_account_stays(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """The admin leaves A, keeps their login and their other workspace; it is audited."""
    workspaces = WorkspaceService(session)
    admin = workspaces.add_user(acme.workspace_id, "admin@acme.example", Role.ADMIN, PASSWORD)
    workspaces.add_user(bravo.workspace_id, "admin@acme.example", Role.VIEWER)
    service = MembershipService(session, clock)

    service.remove_member(acme.workspace_id, admin.id, actor=acme.owner_id, actor_role=Role.OWNER)

    assert "admin@acme.example" not in _roles(session, acme.workspace_id)
    assert _roles(session, bravo.workspace_id)["admin@acme.example"] is Role.VIEWER
    assert workspaces.authenticate_password("admin@acme.example", PASSWORD).id == admin.id
    assert _actions(session, acme.workspace_id)[-1] == (acme.owner_id, "member.removed")


def test_a_reset_link_sets_a_new_password_once(
    session: Session, acme: Tenant, clock: ManualClock
) -> None:
    """The member chooses the password through the link; a second use is refused (410)."""
    workspaces = WorkspaceService(session)
    analyst = workspaces.add_user(acme.workspace_id, "ana@acme.example", Role.ANALYST, PASSWORD)
    service = MembershipService(session, clock)

    issued = service.issue_password_reset(
        acme.workspace_id, analyst.id, actor=acme.owner_id, actor_role=Role.OWNER
    )
    service.reset_password(issued.token, "a brand new password")
    with pytest.raises(LinkUsed):
        service.reset_password(issued.token, "the attacker's password")

    stored = session.scalars(select(PasswordReset)).one()
    assert issued.token.startswith("trs_") and issued.token not in stored.token_hash
    assert workspaces.authenticate_password("ana@acme.example", "a brand new password")
    assert _actions(session, acme.workspace_id)[-2:] == [
        (acme.owner_id, "password_reset.issued"),
        (analyst.id, "password_reset.used"),
    ]


def test_a_reset_link_expires_after_a_day(
    session: Session, acme: Tenant, clock: ManualClock
) -> None:
    """A day later the link is refused and the old password still works."""
    workspaces = WorkspaceService(session)
    analyst = workspaces.add_user(acme.workspace_id, "ana@acme.example", Role.ANALYST, PASSWORD)
    service = MembershipService(session, clock)
    issued = service.issue_password_reset(
        acme.workspace_id, analyst.id, actor=acme.owner_id, actor_role=Role.OWNER
    )
    clock.advance(timedelta(days=1))

    with pytest.raises(LinkExpired):
        service.reset_password(issued.token, "a brand new password")

    assert workspaces.authenticate_password("ana@acme.example", PASSWORD).id == analyst.id


def test_no_workspace_admin_resets_an_owner_or_a_login_shared_with_others(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """An admin cannot reset an owner, nor anyone who also signs in elsewhere; the operator can."""
    workspaces = WorkspaceService(session)
    admin = workspaces.add_user(acme.workspace_id, "admin@acme.example", Role.ADMIN, PASSWORD)
    workspaces.add_user(acme.workspace_id, bravo.owner_email, Role.VIEWER)
    service = MembershipService(session, clock)

    with pytest.raises(RoleTooLow):
        service.issue_password_reset(
            acme.workspace_id, acme.owner_id, actor=admin.id, actor_role=Role.ADMIN
        )
    with pytest.raises(SharedLogin):
        service.issue_password_reset(
            acme.workspace_id, bravo.owner_id, actor=acme.owner_id, actor_role=Role.OWNER
        )
    assert session.scalars(select(PasswordReset)).all() == []
    issued = service.issue_password_reset(
        acme.workspace_id, bravo.owner_id, actor="cli", actor_role=None
    )

    assert issued.user.id == bravo.owner_id


def test_sign_in_lands_on_the_workspace_used_last(
    session: Session, acme: Tenant, bravo: Tenant, clock: ManualClock
) -> None:
    """The first workspace by name until another is used; a lost membership falls back."""
    workspaces = WorkspaceService(session)
    workspaces.add_user(bravo.workspace_id, acme.owner_email, Role.VIEWER)
    service = MembershipService(session, clock)
    user = _user(session, acme.owner_email)

    first = service.landing_workspace(user)
    service.remember_workspace(user, bravo.workspace_id)
    session.expire_all()
    remembered = service.landing_workspace(user)
    service.remove_member(bravo.workspace_id, user.id, actor="cli", actor_role=None)
    fallback = service.landing_workspace(user)

    assert first is not None and first.id == acme.workspace_id
    assert remembered is not None and remembered.id == bravo.workspace_id
    assert fallback is not None and fallback.id == acme.workspace_id
