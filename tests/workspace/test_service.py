"""The workspace service: workspaces, members, login and API keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.errors import InvalidInput
from tessera.kit.time import utcnow
from tessera.models.workspace import ApiKey, ApiKeyKind, AuditEntry, Role
from tessera.workspace.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidLogin,
    WeakPassword,
    WorkspaceSlugTaken,
)
from tessera.workspace.service import WorkspaceService
from tests.support.factories import PASSWORD, make_tenant


def test_a_taken_slug_is_refused(session: Session) -> None:
    """Creating a second workspace with a slug already in use is refused and creates nothing."""
    service = WorkspaceService(session)
    service.create_workspace("Acme", "acme")

    with pytest.raises(WorkspaceSlugTaken):
        service.create_workspace("Acme Two", "ACME")

    assert service.find_workspace("acme").name == "Acme"


@pytest.mark.parametrize("slug", ["", "-acme", "acme-", "Ac me", "a" * 64, "acme_shop"])
def test_a_malformed_slug_is_refused(session: Session, slug: str) -> None:
    """A slug must be lowercase letters, digits and inner hyphens."""
    with pytest.raises(InvalidInput) as caught:
        WorkspaceService(session).create_workspace("Acme", slug)

    assert caught.value.extensions["field"] == "slug"


def test_password_login_accepts_the_right_password_only(session: Session) -> None:
    """The right password logs in; a wrong one and an unknown email get the same error."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)

    user = service.authenticate_password("OWNER@acme.example ", PASSWORD)

    assert user.id == tenant.owner_id
    assert user.last_login_at is not None
    with pytest.raises(InvalidLogin):
        service.authenticate_password(tenant.owner_email, "wrong password!")
    with pytest.raises(InvalidLogin):
        service.authenticate_password("nobody@acme.example", PASSWORD)


def test_passwords_are_stored_as_argon2_hashes(session: Session) -> None:
    """No password is stored in the clear."""
    tenant = make_tenant(session, "acme")

    user = WorkspaceService(session).get_user(tenant.owner_id)

    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_a_short_password_is_refused(session: Session) -> None:
    """A new user's password must have at least 10 characters."""
    service = WorkspaceService(session)
    workspace = service.create_workspace("Acme", "acme")

    with pytest.raises(WeakPassword):
        service.add_user(workspace.id, "new@acme.example", Role.VIEWER, password="short")

    assert service.members(workspace.id) == []


def test_adding_an_existing_user_elsewhere_keeps_their_password(session: Session) -> None:
    """An admin of another workspace can add a user but cannot reset their password."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)
    other = service.create_workspace("Other", "other")

    service.add_user(other.id, tenant.owner_email, Role.VIEWER, password="attacker-chosen-pw")

    assert service.authenticate_password(tenant.owner_email, PASSWORD).id == tenant.owner_id
    assert service.role_of(other.id, tenant.owner_id) is Role.VIEWER


def test_api_key_token_is_shown_once_and_stored_hashed(session: Session) -> None:
    """The token authenticates, but only its hash and a short prefix are stored."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)

    key, token = service.create_api_key(tenant.workspace_id, ApiKeyKind.SECRET, "ci", Role.VIEWER)

    stored = session.scalar(select(ApiKey).where(ApiKey.id == key.id))
    assert stored is not None
    assert token.startswith("tsk_")
    assert token not in (stored.token_hash, stored.token_prefix)
    assert stored.token_prefix == token[:12]
    principal = service.authenticate_key(token)
    assert (principal.workspace_id, principal.role, principal.actor) == (
        tenant.workspace_id,
        Role.VIEWER,
        key.id,
    )


def test_a_revoked_key_stops_working(session: Session) -> None:
    """After revocation the same token is refused."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)

    service.revoke_api_key(tenant.workspace_id, tenant.admin_key_id)

    with pytest.raises(InvalidApiKey):
        service.authenticate_key(tenant.admin_token)


def test_a_key_of_another_workspace_cannot_be_revoked(session: Session) -> None:
    """Revoking B's key from A is 'not found' and leaves the key working."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = WorkspaceService(session)

    with pytest.raises(ApiKeyNotFound):
        service.revoke_api_key(a.workspace_id, b.admin_key_id)

    assert service.authenticate_key(b.admin_token).workspace_id == b.workspace_id


def test_last_used_time_is_recorded_at_most_once_a_minute(session: Session) -> None:
    """Use sets last_used_at; uses within the next minute do not write it again."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)
    first = utcnow()

    service.authenticate_key(tenant.admin_token, now=first)
    service.authenticate_key(tenant.admin_token, now=first + timedelta(seconds=30))
    after_30s = session.get(ApiKey, tenant.admin_key_id)
    assert after_30s is not None
    session.refresh(after_30s)
    recorded_30s = after_30s.last_used_at
    service.authenticate_key(tenant.admin_token, now=first + timedelta(seconds=61))
    session.refresh(after_30s)

    assert recorded_30s == first.replace(microsecond=first.microsecond)
    assert after_30s.last_used_at == first + timedelta(seconds=61)


def test_key_changes_are_audited(session: Session) -> None:
    """Creating and revoking keys leaves audit entries naming the actor."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)

    key, _ = service.create_api_key(tenant.workspace_id, ApiKeyKind.PUBLIC, "app", actor="usr_x")
    service.revoke_api_key(tenant.workspace_id, key.id, actor="usr_x")

    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.workspace_id == tenant.workspace_id, AuditEntry.subject == key.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.actor, e.action) for e in entries] == [
        ("usr_x", "api_key.created"),
        ("usr_x", "api_key.revoked"),
    ]


def test_key_listing_pages_by_cursor(session: Session) -> None:
    """Paging through keys two at a time returns each key once, newest first."""
    tenant = make_tenant(session, "acme")
    service = WorkspaceService(session)
    for index in range(3):
        service.create_api_key(tenant.workspace_id, ApiKeyKind.PUBLIC, f"site-{index}")

    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_api_keys(tenant.workspace_id, cursor, 2)
        seen.extend(key.name for key in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == ["site-2", "site-1", "site-0", "web", "admin"]
