"""What a piece of content was made from: a rendition (``ren_``) or a version (``asv_``) of
an asset, and the asset (``ast_``) itself. Usage rights read it so a rendition is governed
by its master's license; nothing here needs the files, only the rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tessera.content.errors import AssetNotFound
from tessera.content.repository import ContentRepository


class ContentLineage:
    def __init__(self, session: Session) -> None:
        self.repo = ContentRepository(session)

    def chain(self, workspace_id: str, content_id: str) -> Sequence[str]:
        """``content_id`` and the asset it belongs to, nearest first; refuses an id that is
        no asset, version or rendition of this workspace."""
        if content_id.startswith("ren_"):
            rendition = self.repo.rendition_by_id(workspace_id, content_id)
            if rendition is not None:
                return [content_id, rendition.asset_id]
        elif content_id.startswith("asv_"):
            version = self.repo.version_by_id(workspace_id, content_id)
            if version is not None:
                return [content_id, version.asset_id]
        elif self.repo.asset(workspace_id, content_id) is not None:
            return [content_id]
        raise AssetNotFound(f"no asset, version or rendition {content_id} in this workspace")
