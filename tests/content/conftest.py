"""Content tests: a tenant, and the app's content files under the test's data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tessera.content.service import ContentService
from tessera.content.storage import ContentFiles, LocalStore, Staging
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "acme")
    session.commit()
    return tenant


@pytest.fixture
def files(tmp_path: Path) -> ContentFiles:
    root = tmp_path / "content"
    return ContentFiles(LocalStore(root / "objects"), Staging(root / "staging"), 5 * 1024**2,
                        20 * 1024**2)  # fmt: skip


@pytest.fixture
def service(session: Session, files: ContentFiles) -> ContentService:
    return ContentService(session, files)


def stored_objects(files: ContentFiles) -> list[str]:
    store = files.store
    assert isinstance(store, LocalStore)
    if not store.root.is_dir():
        return []
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
