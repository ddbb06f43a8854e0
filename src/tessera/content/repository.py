"""Every SQL statement of content.

A version's number comes from one conditional statement on its asset
(``version_count = version_count + 1 ... RETURNING``), so two uploads for one asset at once get
two numbers and never the same one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from tessera.db.base import RepositoryBase
from tessera.models.content import (
    ContentAsset,
    ContentRendition,
    ContentReview,
    ContentVersion,
    ReviewState,
)


class ContentRepository(RepositoryBase):
    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    def asset(self, workspace_id: str, asset_id: str) -> ContentAsset | None:
        return self.session.scalar(
            select(ContentAsset).where(
                ContentAsset.workspace_id == workspace_id, ContentAsset.id == asset_id
            )
        )

    def asset_for_deliverable(self, workspace_id: str, deliverable_id: str) -> ContentAsset | None:
        return self.session.scalar(
            select(ContentAsset).where(
                ContentAsset.workspace_id == workspace_id,
                ContentAsset.deliverable_id == deliverable_id,
            )
        )

    def assets(
        self,
        workspace_id: str,
        status: ReviewState | None,
        creator_id: str | None,
        after: str | None,
        limit: int,
    ) -> Sequence[ContentAsset]:
        """Newest first; ``after`` is the last id of the previous page."""
        query = select(ContentAsset).where(ContentAsset.workspace_id == workspace_id)
        if status is not None:
            query = query.where(ContentAsset.status == status)
        if creator_id is not None:
            query = query.where(ContentAsset.creator_id == creator_id)
        if after is not None:
            query = query.where(ContentAsset.id < after)
        return self.session.scalars(query.order_by(ContentAsset.id.desc()).limit(limit)).all()

    def next_version_number(self, asset_id: str) -> int:
        """Raise the asset's count by one in the database and return the new number."""
        number = self.session.execute(
            update(ContentAsset)
            .where(ContentAsset.id == asset_id)
            .values(version_count=ContentAsset.version_count + 1)
            .returning(ContentAsset.version_count)
        ).scalar_one()
        return int(number)

    def set_status(self, asset: ContentAsset, status: ReviewState, version: ContentVersion,
                   now: Any) -> None:  # fmt: skip
        version.status = status
        asset.status = status
        asset.updated_at = now
        self.session.flush()

    def versions(self, asset_id: str) -> Sequence[ContentVersion]:
        return self.session.scalars(
            select(ContentVersion)
            .where(ContentVersion.asset_id == asset_id)
            .order_by(ContentVersion.number)
        ).all()

    def version(self, asset_id: str, number: int) -> ContentVersion | None:
        return self.session.scalar(
            select(ContentVersion).where(
                ContentVersion.asset_id == asset_id, ContentVersion.number == number
            )
        )

    def version_by_id(self, workspace_id: str, version_id: str) -> ContentVersion | None:
        return self.session.scalar(
            select(ContentVersion).where(
                ContentVersion.workspace_id == workspace_id, ContentVersion.id == version_id
            )
        )

    def latest_versions(self, asset_ids: Sequence[str]) -> dict[str, ContentVersion]:
        if not asset_ids:
            return {}
        rows = self.session.scalars(
            select(ContentVersion)
            .join(ContentAsset, ContentAsset.id == ContentVersion.asset_id)
            .where(
                ContentVersion.asset_id.in_(asset_ids),
                ContentVersion.number == ContentAsset.version_count,
            )
        ).all()
        return {row.asset_id: row for row in rows}

    def hashes(self, workspace_id: str, other_than_asset: str) -> Sequence[tuple[str, str, str]]:
        """(version id, asset id, perceptual hash) of every upload of the workspace's other
        assets, oldest first."""
        rows = self.session.execute(
            select(ContentVersion.id, ContentVersion.asset_id, ContentVersion.perceptual_hash)
            .where(
                ContentVersion.workspace_id == workspace_id,
                ContentVersion.asset_id != other_than_asset,
            )
            .order_by(ContentVersion.id)
        ).all()
        return [(r.id, r.asset_id, r.perceptual_hash) for r in rows]

    def reviews(self, version_ids: Sequence[str]) -> Sequence[ContentReview]:
        if not version_ids:
            return []
        return self.session.scalars(
            select(ContentReview)
            .where(ContentReview.version_id.in_(version_ids))
            .order_by(ContentReview.id)
        ).all()

    def renditions(self, asset_id: str) -> Sequence[ContentRendition]:
        return self.session.scalars(
            select(ContentRendition)
            .where(ContentRendition.asset_id == asset_id)
            .order_by(ContentRendition.master_version_id, ContentRendition.preset)
        ).all()

    def rendition(self, master_version_id: str, preset: str) -> ContentRendition | None:
        return self.session.scalar(
            select(ContentRendition).where(
                ContentRendition.master_version_id == master_version_id,
                ContentRendition.preset == preset,
            )
        )

    def rendition_by_id(self, workspace_id: str, rendition_id: str) -> ContentRendition | None:
        return self.session.scalar(
            select(ContentRendition).where(
                ContentRendition.workspace_id == workspace_id, ContentRendition.id == rendition_id
            )
        )
