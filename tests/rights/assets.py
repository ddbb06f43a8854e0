"""Real content to license: a picture uploaded through the content library (its rows are
what the rights check reads), with its 1:1 rendition when asked."""

from __future__ import annotations

from pathlib import Path
from tempfile import mkdtemp

from sqlalchemy.orm import Session

from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles, LocalStore, Staging
from tests.content.files import image_bytes, picture


def content(session: Session, root: Path | None = None) -> ContentService:
    root = root or Path(mkdtemp(prefix="rights-content-"))
    files = ContentFiles(LocalStore(root / "objects"), Staging(root / "staging"), 1 << 22, 1 << 22)
    return ContentService(session, files)


def an_asset(session: Session, workspace_id: str, seed: int = 1) -> str:
    data = image_bytes(picture(1200, 1200, seed=seed), "PNG")
    uploaded = content(session).upload_stream(
        workspace_id, [data], UploadForm(f"look-{seed}.png"), "test"
    )
    return uploaded.asset.id


def an_asset_and_rendition(session: Session, workspace_id: str) -> tuple[str, str]:
    """An asset and its 1:1 rendition's id."""
    service = content(session)
    data = image_bytes(picture(1200, 1500, seed=7), "PNG")
    asset = service.upload_stream(workspace_id, [data], UploadForm("tall.png"), "test").asset.id
    [square] = service.render(workspace_id, asset, ["1x1"])
    return asset, square.id
