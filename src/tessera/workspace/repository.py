"""Every SQL statement of the workspace domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from tessera.db.base import RepositoryBase
from tessera.models.workspace import ApiKey, AuditEntry, Membership, Role, User, Workspace

LAST_USED_RESOLUTION = timedelta(seconds=60)


class WorkspaceRepository(RepositoryBase):
    def workspace(self, workspace_id: str) -> Workspace | None:
        return self.session.get(Workspace, workspace_id)

    def workspaces(self) -> Sequence[Workspace]:
        return self.session.scalars(select(Workspace).order_by(Workspace.slug)).all()

    def workspace_by_slug(self, slug: str) -> Workspace | None:
        return self.session.scalar(select(Workspace).where(Workspace.slug == slug))

    def user_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email))

    def user(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

    def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        return self.session.scalar(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )

    def workspaces_of_user(self, user_id: str) -> Sequence[tuple[Workspace, Role]]:
        rows = self.session.execute(
            select(Workspace, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.name)
        ).all()
        return [(workspace, role) for workspace, role in rows]

    def members(self, workspace_id: str) -> Sequence[tuple[User, Role]]:
        rows = self.session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id)
            .order_by(User.email)
        ).all()
        return [(user, role) for user, role in rows]

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        return self.session.scalar(select(ApiKey).where(ApiKey.token_hash == token_hash))

    def key(self, workspace_id: str, key_id: str) -> ApiKey | None:
        return self.session.scalar(
            select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.id == key_id)
        )

    def keys(
        self, workspace_id: str, after_id: str | None, limit: int, include_revoked: bool
    ) -> Sequence[ApiKey]:
        query = select(ApiKey).where(ApiKey.workspace_id == workspace_id)
        if after_id:
            query = query.where(ApiKey.id < after_id)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        return self.session.scalars(query.order_by(ApiKey.id.desc()).limit(limit)).all()

    def touch_key(self, key_id: str, now: datetime) -> None:
        """Record use, at most once a minute per key, so a busy key is not a hot row."""
        self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION
                ),
            )
            .values(last_used_at=now)
        )

    def revoke_key(self, key_id: str, now: datetime) -> None:
        self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def audit_entries(
        self,
        workspace_id: str,
        limit: int,
        after_id: str | None = None,
        action_prefix: str | None = None,
        actor: str | None = None,
    ) -> Sequence[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
        if action_prefix:
            query = query.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
        if actor:
            query = query.where(AuditEntry.actor == actor)
        if after_id:
            query = query.where(AuditEntry.id < after_id)
        return self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
