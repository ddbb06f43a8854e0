"""Who belongs to a workspace, and how people come and go: invitations, role changes, removal,
password reset links and the workspace a user lands on. Never commits: the caller's scope does.

People cross workspace boundaries only by consent. An admin invites an email; the answer is
the same whether or not the address has an account, and tells nothing about other workspaces.
The person accepts after signing in as that email, or, without an account, sets a name and
password through the invitation's link. Links' tokens are shown once and kept only hashed
(ADR 0004); a link is closed by one conditional UPDATE, so it works once however many requests
redeem it at the same moment. Every change is written to the workspace's audit log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.kit.errors import Conflict, InvalidInput
from tessera.kit.time import Clock, utcnow
from tessera.models.workspace import Invitation, PasswordReset, Role, User, Workspace
from tessera.workspace import domain
from tessera.workspace.domain import LinkState
from tessera.workspace.errors import (
    AccountExists,
    AlreadyMember,
    InvitationForAnotherEmail,
    InvitationNotFound,
    LastOwner,
    LinkExpired,
    LinkGone,
    LinkRevoked,
    LinkUsed,
    MemberNotFound,
    ResetLinkNotFound,
    RoleTooLow,
    SharedLogin,
)
from tessera.workspace.membership.repository import (
    MemberRow,
    MembershipRepository,
    PendingInvitation,
)
from tessera.workspace.passwords import hash_password
from tessera.workspace.service import WorkspaceService

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GONE: dict[LinkState, type[LinkGone]] = {
    LinkState.USED: LinkUsed,
    LinkState.REVOKED: LinkRevoked,
    LinkState.EXPIRED: LinkExpired,
}


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation and its link's token, which is never shown again."""

    invitation: Invitation
    token: str


@dataclass(frozen=True, slots=True)
class IssuedReset:
    """A new password reset and its link's token, which is never shown again."""

    reset: PasswordReset
    user: User
    token: str


def normalise_email(email: str) -> str:
    """The stored form of an email: trimmed and lowercased; refuses what is not an address."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    return email


class MembershipService:
    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = MembershipRepository(session)
        self.workspaces = WorkspaceService(session)

    # Invitations ------------------------------------------------------------------------------

    def invite(
        self,
        workspace_id: str,
        email: str,
        role: Role,
        *,
        actor: str,
        grantor_role: Role | None,
    ) -> IssuedInvitation:
        """Invite ``email`` to join with ``role``; returns the invitation and its link's token.

        The answer does not depend on whether the address has an account or where: whoever
        invites learns nothing about other workspaces. Refuses a role above ``grantor_role`` and
        someone already a member here (which the inviter can see in the member list anyway). A
        new invitation to the same email replaces the open one, whose link stops working.
        """
        if grantor_role is not None and not domain.role_allows(grantor_role, role):
            raise RoleTooLow(
                f"a {grantor_role.value} cannot grant the {role.value} role", field="role"
            )
        email = normalise_email(email)
        self.workspaces.get_workspace(workspace_id)
        if self.repository.member_by_email(workspace_id, email) is not None:
            raise AlreadyMember(f"{email} is already a member of this workspace", field="email")
        now = self.clock()
        previous = self.repository.open_invitation(workspace_id, email)
        if previous is not None and self.repository.close_invitation(
            previous.id, now, accepted_by=None
        ):
            self.workspaces.record(
                workspace_id, actor, "invitation.revoked", previous.id, {"email": email}
            )
        token = domain.new_link_token(domain.INVITATION_TOKEN_PREFIX)
        invitation = Invitation(
            workspace_id=workspace_id,
            email=email,
            role=role,
            token_hash=domain.hash_token(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + domain.INVITATION_LIFETIME,
        )
        savepoint = self.session.begin_nested()
        try:
            self.session.add(invitation)
            self.session.flush()
        except IntegrityError:
            savepoint.rollback()
            raise Conflict(
                f"another invitation to {email} was sent at the same moment; "
                "see the pending invitations",
                field="email",
            ) from None
        savepoint.commit()
        self.workspaces.record(
            workspace_id, actor, "invitation.created", invitation.id, {"email": email, "role": role}
        )
        return IssuedInvitation(invitation, token)

    def invitations(self, workspace_id: str) -> Sequence[Invitation]:
        """The workspace's invitations not yet accepted or revoked, newest first."""
        return self.repository.open_invitations(workspace_id)

    def revoke_invitation(self, workspace_id: str, invitation_id: str, *, actor: str) -> Invitation:
        """Revoke an open invitation of this workspace; its link stops working at once.

        Revoking twice is harmless; an accepted invitation cannot be revoked (remove the member
        instead). Another workspace's invitation is not found, so ids do not leak.
        """
        invitation = self.repository.invitation(workspace_id, invitation_id)
        if invitation is None:
            raise InvitationNotFound(f"no invitation {invitation_id} in this workspace")
        if invitation.accepted_at is not None:
            raise LinkUsed("the invitation was accepted; remove the member instead")
        if self.repository.close_invitation(invitation.id, self.clock(), accepted_by=None):
            self.workspaces.record(
                workspace_id,
                actor,
                "invitation.revoked",
                invitation.id,
                {"email": invitation.email},
            )
        self.session.refresh(invitation)
        return invitation

    def open_invitation(self, token: str) -> PendingInvitation:
        """The invitation behind a link's token and its workspace, while it can be accepted.

        Refuses an unknown token (404) and one used, revoked or expired (410).
        """
        invitation = self.repository.invitation_by_hash(domain.hash_token(token))
        if invitation is None:
            raise InvitationNotFound("this invitation link is not valid; ask for a new one")
        self._check_open(invitation)
        return PendingInvitation(invitation, self.workspaces.get_workspace(invitation.workspace_id))

    def pending_for(self, user: User) -> Sequence[PendingInvitation]:
        """Open, unexpired invitations addressed to the user's email, oldest first."""
        return self.repository.pending_for_email(user.email, self.clock())

    def accept(
        self, user: User, *, token: str | None = None, invitation_id: str | None = None
    ) -> Workspace:
        """Accept an invitation as ``user``, by its link's token or (from the list of the user's
        own invitations) its id; makes them a member and their next sign-in lands there.

        Refuses an invitation addressed to another email (403: consent is the addressee's), an
        unknown one (404) and one used, revoked or expired (410); a refusal changes nothing.
        """
        if token is not None:
            invitation = self.repository.invitation_by_hash(domain.hash_token(token))
        else:
            invitation = self.repository.invitation_by_id(invitation_id or "")
            if invitation is not None and invitation.email != user.email:
                invitation = None  # someone else's invitation id: no such thing for this user
        if invitation is None:
            raise InvitationNotFound("no such invitation; ask for a new one")
        if invitation.email != user.email:
            raise InvitationForAnotherEmail(
                f"this invitation is for {invitation.email}, and you are signed in as "
                f"{user.email}; sign in as {invitation.email} to accept it"
            )
        return self._accept(invitation, user)

    def join_with_new_account(self, token: str, name: str, password: str) -> tuple[User, Workspace]:
        """Create the account an invitation's link is addressed to, with ``name`` and
        ``password``, and accept the invitation as it.

        Refuses when an account with that email exists (409: its owner signs in to accept, and
        nobody holding a link may set their password), a password under 10 characters, and a
        link used, revoked or expired.
        """
        invitation, _workspace = self.open_invitation(token)
        if self.workspaces.repository.user_by_email(invitation.email) is not None:
            raise AccountExists(f"{invitation.email} has an account: sign in to accept")
        user = User(
            email=invitation.email, name=name.strip()[:200], password_hash=hash_password(password)
        )
        self.session.add(user)
        self.session.flush()
        return user, self._accept(invitation, user)

    def _accept(self, invitation: Invitation, user: User) -> Workspace:
        self._check_open(invitation)
        now = self.clock()
        if not self.repository.close_invitation(invitation.id, now, accepted_by=user.id):
            self.session.refresh(invitation)  # another request closed it first
            self._check_open(invitation)
            raise LinkUsed("this invitation has already been used")
        self.repository.add_membership(invitation.workspace_id, user.id, invitation.role)
        self.repository.set_last_workspace(user.id, invitation.workspace_id)
        self.workspaces.record(
            invitation.workspace_id,
            user.id,
            "invitation.accepted",
            invitation.id,
            {"email": user.email, "role": invitation.role},
        )
        return self.workspaces.get_workspace(invitation.workspace_id)

    def _check_open(self, invitation: Invitation) -> None:
        state = domain.link_state(
            invitation.accepted_at, invitation.revoked_at, invitation.expires_at, self.clock()
        )
        if state is not LinkState.OPEN:
            raise _GONE[state](f"this invitation has {_PAST[state]}; ask for a new one")

    # Members ----------------------------------------------------------------------------------

    def member(self, workspace_id: str, user_id: str) -> MemberRow:
        """A member of this workspace by user id; anyone else is not found."""
        row = self.repository.member(workspace_id, user_id)
        if row is None:
            raise MemberNotFound(f"no member {user_id} in this workspace")
        return row

    def member_by_email(self, workspace_id: str, email: str) -> MemberRow:
        """A member of this workspace by email; anyone else is not found."""
        row = self.repository.member_by_email(workspace_id, email.strip().lower())
        if row is None:
            raise MemberNotFound(
                f"{email.strip()} is not a member of this workspace; invite them instead",
                field="email",
            )
        return row

    def change_role(
        self, workspace_id: str, user_id: str, role: Role, *, actor: str, actor_role: Role | None
    ) -> User:
        """Give a member another role.

        Refuses granting a role above ``actor_role``, changing the role of someone ranked above
        the actor, and taking the owner role from the workspace's last owner. ``actor_role``
        None is the operator's CLI, which may do anything but leave a workspace ownerless.
        """
        if actor_role is not None and not domain.role_allows(actor_role, role):
            raise RoleTooLow(
                f"You cannot grant a role above your own ({actor_role.value}).", field="role"
            )
        user, held = self.member(workspace_id, user_id)
        self._check_may_act(user, held, actor_role)
        if held is Role.OWNER and role is not Role.OWNER:
            self._keep_an_owner(workspace_id, user.id)
        if held is not role:
            self.repository.set_role(workspace_id, user.id, role)
            self.workspaces.record(
                workspace_id, actor, "member.role_changed", user.id,
                {"email": user.email, "from": held, "to": role},
            )  # fmt: skip
        return user

    def remove_member(
        self, workspace_id: str, user_id: str, *, actor: str, actor_role: Role | None
    ) -> User:
        """Take a member out of this workspace; their account and other workspaces stay.

        Refuses removing someone ranked above the actor (an admin never removes an owner) and the
        last owner. Reset links this workspace issued for them stop working.
        """
        user, held = self.member(workspace_id, user_id)
        self._check_may_act(user, held, actor_role)
        if held is Role.OWNER:
            self._keep_an_owner(workspace_id, user.id)
        self.repository.delete_membership(workspace_id, user.id)
        self.repository.revoke_resets(user.id, self.clock(), workspace_id)
        self.workspaces.record(
            workspace_id, actor, "member.removed", user.id, {"email": user.email, "role": held}
        )
        return user

    def _check_may_act(self, user: User, held: Role, actor_role: Role | None) -> None:
        if not domain.may_act_on(actor_role, held):
            raise RoleTooLow(f"{user.email} is {held.value}, above your role.", field="email")

    def _keep_an_owner(self, workspace_id: str, leaving: str) -> None:
        owners = self.repository.lock_owners(workspace_id)
        if [owner for owner in owners if owner != leaving] == []:
            raise LastOwner("A workspace keeps at least one owner.", field="role")

    # Password resets --------------------------------------------------------------------------

    def issue_password_reset(
        self, workspace_id: str, user_id: str, *, actor: str, actor_role: Role | None
    ) -> IssuedReset:
        """A one-time link (valid a day) that lets a member choose a new password.

        The admin hands the link over; they never choose the password. Refuses a member ranked
        above the actor and, unless the operator asks (``actor_role`` None), a member who also
        belongs to other workspaces: their sign-in opens those too, which this workspace's
        admins must not be able to take over. Earlier open links for the user stop working.
        """
        user, held = self.member(workspace_id, user_id)
        self._check_may_act(user, held, actor_role)
        if actor_role is not None and self.repository.other_workspace_count(user.id, workspace_id):
            raise SharedLogin(
                f"{user.email} signs in to other workspaces too, so only they or the operator "
                "(tessera user reset-password) can reset their password"
            )
        now = self.clock()
        self.repository.revoke_resets(user.id, now)
        token = domain.new_link_token(domain.RESET_TOKEN_PREFIX)
        reset = PasswordReset(
            workspace_id=workspace_id,
            user_id=user.id,
            token_hash=domain.hash_token(token),
            issued_by=actor,
            created_at=now,
            expires_at=now + domain.RESET_LIFETIME,
        )
        self.session.add(reset)
        self.session.flush()
        self.workspaces.record(
            workspace_id, actor, "password_reset.issued", user.id, {"email": user.email}
        )
        return IssuedReset(reset, user, token)

    def open_reset(self, token: str) -> tuple[PasswordReset, User]:
        """The reset behind a link's token and its user, while it can be used.

        Refuses an unknown token (404) and one used, revoked or expired (410).
        """
        reset = self.repository.reset_by_hash(domain.hash_token(token))
        user = self.workspaces.get_user(reset.user_id) if reset else None
        if reset is None or user is None:
            raise ResetLinkNotFound("this password reset link is not valid; ask for a new one")
        state = domain.link_state(reset.used_at, reset.revoked_at, reset.expires_at, self.clock())
        if state is not LinkState.OPEN:
            raise _GONE[state](f"this password reset link has {_PAST[state]}; ask for a new one")
        return reset, user

    def reset_password(self, token: str, password: str) -> User:
        """Set a new password through a reset link, which then stops working.

        Refuses a password under 10 characters (the link stays usable) and a link that is
        unknown, used, revoked or expired (nothing changes).
        """
        reset, user = self.open_reset(token)
        password_hash = hash_password(password)
        if not self.repository.use_reset(reset.id, self.clock()):
            self.session.refresh(reset)
            self.open_reset(token)
            raise LinkUsed("this password reset link has already been used")
        user.password_hash = password_hash
        self.workspaces.record(
            reset.workspace_id, user.id, "password_reset.used", user.id, {"email": user.email}
        )
        self.session.flush()
        return user

    # Where a user lands -----------------------------------------------------------------------

    def landing_workspace(self, user: User) -> Workspace | None:
        """The workspace the user used last if they are still a member, else their first by
        name; None when they belong to none."""
        workspaces = self.workspaces.workspaces_of(user.id)
        for workspace, _role in workspaces:
            if workspace.id == user.last_workspace_id:
                return workspace
        return workspaces[0][0] if workspaces else None

    def remember_workspace(self, user: User, workspace_id: str) -> None:
        """Record the workspace the user is using, where their next sign-in lands."""
        if user.last_workspace_id != workspace_id:
            self.repository.set_last_workspace(user.id, workspace_id)


_PAST = {
    LinkState.USED: "already been used",
    LinkState.REVOKED: "been revoked",
    LinkState.EXPIRED: "expired",
}
