"""Send the generated brand through the real services, once: seeding twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.demo.generator import DemoBrand
from tessera.workspace.service import WorkspaceService

DEMO_LOGIN_EMAIL = "demo@tessera.dev"
DEMO_PASSWORD = "tessera-demo"  # noqa: S105 - printed on screen for the local demo by design


@dataclass(frozen=True)
class SeedResult:
    workspace_id: str
    created: bool
    login_email: str
    password: str
    write_key: str | None  # the website's write key token, only when just created


def seed_demo(session: Session, brand: DemoBrand) -> SeedResult:
    """Create the demo workspace, its login, team and keys, unless it exists already."""
    service = WorkspaceService(session)
    existing = service.repository.workspace_by_slug(brand.slug)
    if existing is not None:
        return SeedResult(existing.id, False, DEMO_LOGIN_EMAIL, DEMO_PASSWORD, None)
    workspace = service.create_workspace(brand.name, brand.slug)
    owner = brand.team[0]
    service.add_user(
        workspace.id, DEMO_LOGIN_EMAIL, owner.role, password=DEMO_PASSWORD, name="Demo User"
    )
    for member in brand.team:
        service.add_user(
            workspace.id, member.email, member.role, password=DEMO_PASSWORD, name=member.name
        )
    write_key: str | None = None
    for spec in brand.keys:
        _key, token = service.create_api_key(
            workspace.id, spec.kind, spec.name, spec.role, actor="demo"
        )
        write_key = write_key or token
    return SeedResult(workspace.id, True, DEMO_LOGIN_EMAIL, DEMO_PASSWORD, write_key)
