"""Use cases for workspaces, users, login and API keys. Never commits: the caller's scope does."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.workspace import (
    ApiKey,
    ApiKeyKind,
    AuditEntry,
    Membership,
    Role,
    User,
    Workspace,
)
from tessera.workspace import domain
from tessera.workspace.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidLogin,
    RoleTooLow,
    WorkspaceNotFound,
    WorkspaceSlugTaken,
)
from tessera.workspace.passwords import hash_password, rehashed, verify_password
from tessera.workspace.repository import WorkspaceRepository

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


AUDIT_TEXT_LIMIT = 80  # the action and actor columns' width


class WorkspaceService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = WorkspaceRepository(session)

    # Workspaces -------------------------------------------------------------------------------

    def create_workspace(self, name: str, slug: str, default_region: str = "US") -> Workspace:
        """Create a brand's workspace; refuses a malformed or taken slug."""
        slug = slug.strip().lower()
        if not _SLUG.match(slug):
            raise InvalidInput(
                "slug must be 1-63 lowercase letters, digits or hyphens", field="slug"
            )
        if not name.strip():
            raise InvalidInput("name must not be empty", field="name")
        if self.repository.workspace_by_slug(slug):
            raise WorkspaceSlugTaken(f"workspace slug {slug!r} is taken", field="slug")
        workspace = Workspace(name=name.strip(), slug=slug, default_region=default_region.upper())
        self.session.add(workspace)
        self.session.flush()
        return workspace

    def get_workspace(self, workspace_id: str) -> Workspace:
        workspace = self.repository.workspace(workspace_id)
        if workspace is None:
            raise WorkspaceNotFound(f"no workspace {workspace_id}")
        return workspace

    def update_workspace(
        self,
        workspace_id: str,
        actor: str,
        *,
        name: str | None = None,
        time_zone: str | None = None,
        currency: str | None = None,
    ) -> Workspace:
        """Rename the workspace or change the zone and currency its pages show; audited.

        Refuses an empty name, a zone that is not an IANA zone name (``Europe/Stockholm``)
        and a currency that is not three letters (ISO 4217), each naming its field.
        """
        workspace = self.get_workspace(workspace_id)
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip() or storable_text_problem(name):
                raise InvalidInput("name must be text, not empty", field="name")
            changes["name"] = name.strip()[:200]
        if time_zone is not None:
            changes["time_zone"] = domain.checked_time_zone(time_zone)
        if currency is not None:
            changes["currency"] = domain.checked_currency(currency)
        for field, value in changes.items():
            setattr(workspace, field, value)
        if changes:
            self.session.flush()
            self.record(workspace_id, actor, "workspace.updated", workspace_id, changes)
        return workspace

    def list_workspaces(self) -> Sequence[Workspace]:
        """Every workspace on this installation, by slug: the operator's view (the CLI)."""
        return self.repository.workspaces()

    def find_workspace(self, id_or_slug: str) -> Workspace:
        """A workspace by id or slug (the CLI accepts either)."""
        workspace = self.repository.workspace(id_or_slug) or self.repository.workspace_by_slug(
            id_or_slug
        )
        if workspace is None:
            raise WorkspaceNotFound(f"no workspace with id or slug {id_or_slug!r}")
        return workspace

    # Users ------------------------------------------------------------------------------------

    def add_user(
        self,
        workspace_id: str,
        email: str,
        role: Role,
        password: str | None = None,
        name: str = "",
        actor: str = "system",
        grantor_role: Role | None = None,
    ) -> User:
        """Add a member with ``role`` directly; creates the user if new (which needs a password).

        This is the operator's path (``tessera user add`` on the server, the demo), never the
        API's or the dashboard's: there people join by accepting an invitation
        (``membership.service``), so nobody is put in a workspace without consenting.

        Refuses a role above ``grantor_role``, a malformed email and a password shorter than 10
        characters. An existing user keeps their password; adding an existing member again
        changes their role.
        """
        self._check_grant(role, grantor_role)
        email = email.strip().lower()
        if not _EMAIL.match(email):
            raise InvalidInput(f"{email!r} is not an email address", field="email")
        self.get_workspace(workspace_id)
        user = self.repository.user_by_email(email)
        if user is None:
            if password is None:
                raise InvalidInput("a new user needs a password", field="password")
            user = User(email=email, name=name, password_hash=hash_password(password))
            self.session.add(user)
            self.session.flush()
        membership = self.repository.membership(workspace_id, user.id)
        if membership is None:
            self.session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))
        else:
            membership.role = role
        self.record(workspace_id, actor, "user.added", user.id, {"email": email, "role": role})
        self.session.flush()
        return user

    def members(self, workspace_id: str) -> Sequence[tuple[User, Role]]:
        return self.repository.members(workspace_id)

    def authenticate_password(self, email: str, password: str) -> User:
        """The user with this email and password; refuses anything else with one vague error."""
        user = self.repository.user_by_email(email.strip().lower())
        if not verify_password(user.password_hash if user else None, password) or user is None:
            raise InvalidLogin("email or password is wrong")
        user.password_hash = rehashed(user.password_hash, password) or user.password_hash
        user.last_login_at = utcnow()
        return user

    def workspaces_of(self, user_id: str) -> Sequence[tuple[Workspace, Role]]:
        return self.repository.workspaces_of_user(user_id)

    def role_of(self, workspace_id: str, user_id: str) -> Role | None:
        membership = self.repository.membership(workspace_id, user_id)
        return membership.role if membership else None

    def get_user(self, user_id: str) -> User | None:
        return self.repository.user(user_id)

    # API keys ---------------------------------------------------------------------------------

    def create_api_key(
        self,
        workspace_id: str,
        kind: ApiKeyKind,
        name: str,
        role: Role | None = None,
        actor: str = "system",
        grantor_role: Role | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with its token, which is never shown again.

        A secret key needs a role (what it may do), never above ``grantor_role`` (an admin key
        cannot mint an owner key); a public write key may only send events and takes no role.
        """
        if role is not None:
            self._check_grant(role, grantor_role)
        if kind is ApiKeyKind.SECRET and role is None:
            raise InvalidInput("a secret key needs a role", field="role")
        if kind is ApiKeyKind.PUBLIC and role is not None:
            raise InvalidInput("a public write key takes no role", field="role")
        if not name.strip():
            raise InvalidInput("name must not be empty", field="name")
        self.get_workspace(workspace_id)
        token = domain.new_token(kind)
        key = ApiKey(
            workspace_id=workspace_id,
            kind=kind,
            role=role,
            name=name.strip(),
            token_prefix=token[:12],
            token_hash=domain.hash_token(token),
            created_by=actor,
        )
        self.session.add(key)
        self.session.flush()
        self.record(workspace_id, actor, "api_key.created", key.id, {"kind": kind, "role": role})
        return key, token

    def list_api_keys(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        include_revoked: bool = True,
    ) -> Page[ApiKey]:
        """The workspace's keys, newest first, one page at a time."""
        limit = clamp_limit(limit)
        rows = self.repository.keys(workspace_id, decode_cursor(cursor), limit + 1, include_revoked)
        return page_from(rows, limit)

    def revoke_api_key(self, workspace_id: str, key_id: str, actor: str = "system") -> ApiKey:
        """Revoke a key of this workspace at once; revoking twice is harmless.

        A key of another workspace is reported as not found, never as forbidden, so ids do not
        leak across workspaces.
        """
        key = self.repository.key(workspace_id, key_id)
        if key is None:
            raise ApiKeyNotFound(f"no API key {key_id} in this workspace")
        if key.revoked_at is None:
            self.repository.revoke_key(key.id, utcnow())
            self.session.refresh(key)
            self.record(workspace_id, actor, "api_key.revoked", key.id, {})
        return key

    def authenticate_key(self, token: str, now: datetime | None = None) -> domain.Principal:
        """The principal behind a token; refuses unknown and revoked tokens alike."""
        kind = domain.kind_of_token(token)
        if kind is None:
            raise InvalidApiKey("the API key is missing, unknown or revoked")
        key = self.repository.key_by_hash(domain.hash_token(token))
        if key is None or key.revoked_at is not None:
            raise InvalidApiKey("the API key is missing, unknown or revoked")
        self.repository.touch_key(key.id, now or utcnow())
        return domain.Principal(
            workspace_id=key.workspace_id, actor=key.id, role=key.role, kind=key.kind
        )

    # Audit ------------------------------------------------------------------------------------

    def record(
        self, workspace_id: str, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        """Append an audit entry in the caller's transaction."""
        self.session.add(
            AuditEntry(
                workspace_id=workspace_id,
                actor=actor,
                action=action,
                subject=subject,
                details={k: str(v) if v is not None else None for k, v in details.items()},
            )
        )

    def audit_log(
        self,
        workspace_id: str,
        limit: int = 100,
        cursor: str | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> Page[AuditEntry]:
        """Audit entries newest first, one page at a time; ``action`` keeps those whose action
        starts with it (``quarantine.`` for every quarantine action), ``actor`` one actor's.

        Refuses a limit outside 1-200, a cursor it did not hand out, and a filter that cannot
        be stored text (a NUL) or is longer than the column.
        """
        for name, value in (("action", action), ("actor", actor)):
            if value and (len(value) > AUDIT_TEXT_LIMIT or storable_text_problem(value)):
                raise InvalidInput(f"{name} is not an action or actor this log holds", field=name)
        limit = clamp_limit(limit)
        rows = self.repository.audit_entries(
            workspace_id, limit + 1, decode_cursor(cursor), action, actor
        )
        return page_from(rows, limit)

    @staticmethod
    def _check_grant(role: Role, grantor_role: Role | None) -> None:
        if grantor_role is not None and not domain.role_allows(grantor_role, role):
            raise RoleTooLow(
                f"a {grantor_role.value} cannot grant the {role.value} role", field="role"
            )
