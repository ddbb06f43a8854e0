"""Test data built through the real services (never inserted behind them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    workspace_id: str
    slug: str
    owner_id: str
    owner_email: str
    admin_token: str
    admin_key_id: str
    write_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


def make_tenant(session: Session, slug: str) -> Tenant:
    """A workspace with an owner, an admin secret key and a public write key."""
    service = WorkspaceService(session)
    workspace = service.create_workspace(f"{slug.title()} Brand", slug)
    owner = service.add_user(workspace.id, f"owner@{slug}.example", Role.OWNER, password=PASSWORD)
    admin_key, admin_token = service.create_api_key(
        workspace.id, ApiKeyKind.SECRET, "admin", Role.ADMIN
    )
    _write_key, write_token = service.create_api_key(workspace.id, ApiKeyKind.PUBLIC, "web")
    session.commit()
    return Tenant(
        workspace_id=workspace.id,
        slug=slug,
        owner_id=owner.id,
        owner_email=owner.email,
        admin_token=admin_token,
        admin_key_id=admin_key.id,
        write_token=write_token,
    )


def make_workspace(session: Session, slug: str) -> str:
    """Just a workspace (no users, so no slow password hashing); returns its id."""
    return WorkspaceService(session).create_workspace(f"{slug.title()} Brand", slug).id
