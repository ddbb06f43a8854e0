"""Every SQL statement about joining and leaving workspaces: invitations, memberships, password
resets and the workspace a user last used.

Closing a one-time link is one conditional UPDATE whose row count decides, so two requests
redeeming the same token at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Result, delete, func, select, update

from tessera.db.base import RepositoryBase
from tessera.models.workspace import (
    Invitation,
    Membership,
    PasswordReset,
    Role,
    User,
    Workspace,
)


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


class PendingInvitation(NamedTuple):
    invitation: Invitation
    workspace: Workspace


class MemberRow(NamedTuple):
    user: User
    role: Role


class MembershipRepository(RepositoryBase):
    # Invitations ------------------------------------------------------------------------------

    def open_invitation(self, workspace_id: str, email: str) -> Invitation | None:
        """The workspace's invitation to ``email`` that is neither accepted nor revoked."""
        return self.session.scalar(
            select(Invitation).where(
                Invitation.workspace_id == workspace_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )

    def invitation(self, workspace_id: str, invitation_id: str) -> Invitation | None:
        return self.session.scalar(
            select(Invitation).where(
                Invitation.workspace_id == workspace_id, Invitation.id == invitation_id
            )
        )

    def invitation_by_id(self, invitation_id: str) -> Invitation | None:
        return self.session.get(Invitation, invitation_id)

    def invitation_by_hash(self, token_hash: str) -> Invitation | None:
        return self.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))

    def open_invitations(self, workspace_id: str) -> Sequence[Invitation]:
        """The workspace's invitations not yet accepted or revoked (expired ones included)."""
        return self.session.scalars(
            select(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.id.desc())
        ).all()

    def pending_for_email(self, email: str, now: datetime) -> Sequence[PendingInvitation]:
        """Open, unexpired invitations addressed to ``email``, with their workspaces."""
        rows = self.session.execute(
            select(Invitation, Workspace)
            .join(Workspace, Workspace.id == Invitation.workspace_id)
            .where(
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.id)
        ).all()
        return [PendingInvitation(row.Invitation, row.Workspace) for row in rows]

    def close_invitation(
        self, invitation_id: str, now: datetime, *, accepted_by: str | None
    ) -> bool:
        """Accept (``accepted_by`` a user id) or revoke (``None``) an open invitation; True if
        this call closed it. Accepting also needs it unexpired at ``now``."""
        statement = update(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        if accepted_by is None:
            statement = statement.values(revoked_at=now)
        else:
            statement = statement.where(Invitation.expires_at > now).values(
                accepted_at=now, accepted_by=accepted_by
            )
        return _rowcount(self.session.execute(statement)) == 1

    # Members ----------------------------------------------------------------------------------

    def member(self, workspace_id: str, user_id: str) -> MemberRow | None:
        row = self.session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id, User.id == user_id)
        ).one_or_none()
        return MemberRow(row.User, row.role) if row else None

    def member_by_email(self, workspace_id: str, email: str) -> MemberRow | None:
        row = self.session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id, User.email == email)
        ).one_or_none()
        return MemberRow(row.User, row.role) if row else None

    def lock_owners(self, workspace_id: str) -> Sequence[str]:
        """The user ids of the workspace's owners, their rows locked in primary-key order so
        that two concurrent demotions or removals count the owners one after the other."""
        return self.session.scalars(
            select(Membership.user_id)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER)
            .order_by(Membership.id)
            .with_for_update()
        ).all()

    def add_membership(self, workspace_id: str, user_id: str, role: Role) -> bool:
        """Make the user a member with ``role`` unless they already are; True if added."""
        exists = self.session.scalar(
            select(Membership.id).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        if exists is not None:
            return False
        self.session.add(Membership(workspace_id=workspace_id, user_id=user_id, role=role))
        self.session.flush()
        return True

    def set_role(self, workspace_id: str, user_id: str, role: Role) -> None:
        self.session.execute(
            update(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
            .values(role=role)
        )

    def delete_membership(self, workspace_id: str, user_id: str) -> bool:
        result = self.session.execute(
            delete(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        return _rowcount(result) == 1

    def other_workspace_count(self, user_id: str, workspace_id: str) -> int:
        """How many workspaces besides ``workspace_id`` the user belongs to."""
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.user_id == user_id, Membership.workspace_id != workspace_id)
            )
            or 0
        )

    def set_last_workspace(self, user_id: str, workspace_id: str) -> None:
        self.session.execute(
            update(User).where(User.id == user_id).values(last_workspace_id=workspace_id)
        )

    # Password resets --------------------------------------------------------------------------

    def reset_by_hash(self, token_hash: str) -> PasswordReset | None:
        return self.session.scalar(
            select(PasswordReset).where(PasswordReset.token_hash == token_hash)
        )

    def revoke_resets(self, user_id: str, now: datetime, workspace_id: str | None = None) -> int:
        """Revoke the user's open reset links (those one workspace issued, if given)."""
        statement = update(PasswordReset).where(
            PasswordReset.user_id == user_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        if workspace_id is not None:
            statement = statement.where(PasswordReset.workspace_id == workspace_id)
        return _rowcount(self.session.execute(statement.values(revoked_at=now)))

    def use_reset(self, reset_id: str, now: datetime) -> bool:
        """Mark an open, unexpired reset link used; True if this call did."""
        result = self.session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.id == reset_id,
                PasswordReset.used_at.is_(None),
                PasswordReset.revoked_at.is_(None),
                PasswordReset.expires_at > now,
            )
            .values(used_at=now)
        )
        return _rowcount(result) == 1
