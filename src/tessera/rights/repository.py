"""Every SQL statement of usage rights."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update

from tessera.db.base import RepositoryBase
from tessera.models.rights import AssetLicense, Placement, PlacementStatus, PlatformAuthorisation


class RightsRepository(RepositoryBase):
    def add(self, row: AssetLicense | PlatformAuthorisation | Placement) -> None:
        self.session.add(row)
        self.session.flush()

    def license(self, workspace_id: str, license_id: str) -> AssetLicense | None:
        return self.session.scalars(
            select(AssetLicense).where(
                AssetLicense.workspace_id == workspace_id, AssetLicense.id == license_id
            )
        ).first()

    def licenses(self, workspace_id: str, asset_ids: Sequence[str]) -> Sequence[AssetLicense]:
        """The licenses of ``asset_ids``, oldest first."""
        return self.session.scalars(
            select(AssetLicense)
            .where(AssetLicense.workspace_id == workspace_id, AssetLicense.asset_id.in_(asset_ids))
            .order_by(AssetLicense.created_at, AssetLicense.id)
        ).all()

    def authorisation(self, workspace_id: str, grant_id: str) -> PlatformAuthorisation | None:
        return self.session.scalars(
            select(PlatformAuthorisation).where(
                PlatformAuthorisation.workspace_id == workspace_id,
                PlatformAuthorisation.id == grant_id,
            )
        ).first()

    def authorisations(
        self, workspace_id: str, asset_ids: Sequence[str]
    ) -> Sequence[PlatformAuthorisation]:
        return self.session.scalars(
            select(PlatformAuthorisation)
            .where(
                PlatformAuthorisation.workspace_id == workspace_id,
                PlatformAuthorisation.asset_id.in_(asset_ids),
            )
            .order_by(PlatformAuthorisation.granted_at, PlatformAuthorisation.id)
        ).all()

    def placement(
        self, workspace_id: str, asset_id: str, channel: str, usage: str, ref: str
    ) -> Placement | None:
        return self.session.scalars(
            select(Placement).where(
                Placement.workspace_id == workspace_id,
                Placement.asset_id == asset_id,
                Placement.channel == channel,
                Placement.usage == usage,
                Placement.ref == ref,
            )
        ).first()

    def placements(
        self, workspace_id: str, status: PlacementStatus | None, limit: int
    ) -> Sequence[Placement]:
        query = select(Placement).where(Placement.workspace_id == workspace_id)
        if status is not None:
            query = query.where(Placement.status == status)
        return self.session.scalars(query.order_by(Placement.id.desc()).limit(limit)).all()

    def ending_between(
        self, workspace_id: str, start: datetime, end: datetime
    ) -> Sequence[AssetLicense]:
        """Licenses not revoked whose end falls in [start, end), soonest first."""
        return self.session.scalars(
            select(AssetLicense)
            .where(
                AssetLicense.workspace_id == workspace_id,
                AssetLicense.revoked_at.is_(None),
                AssetLicense.ends_at >= start,
                AssetLicense.ends_at < end,
            )
            .order_by(AssetLicense.ends_at, AssetLicense.id)
        ).all()

    def mark_takedowns(self, workspace_id: str, now: datetime) -> int:
        """Live placements whose license has ended or been revoked by ``now``, or whose
        authorisation was revoked, become takedown tasks; returns how many, in one statement."""
        ended = select(AssetLicense.id).where(
            AssetLicense.workspace_id == workspace_id,
            or_(AssetLicense.ends_at <= now, AssetLicense.revoked_at <= now),
        )
        pulled = select(PlatformAuthorisation.id).where(
            PlatformAuthorisation.workspace_id == workspace_id,
            or_(PlatformAuthorisation.expires_at <= now, PlatformAuthorisation.revoked_at <= now),
        )
        result = self.session.execute(
            update(Placement)
            .where(
                Placement.workspace_id == workspace_id,
                Placement.status == PlacementStatus.LIVE,
                or_(Placement.license_id.in_(ended), Placement.authorisation_id.in_(pulled)),
            )
            .values(
                status=PlacementStatus.TAKEDOWN_DUE, reason="its license or authorisation ended"
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def workspaces_with_live_placements(self) -> list[str]:
        return [
            str(ws)
            for ws in self.session.scalars(
                select(Placement.workspace_id)
                .where(Placement.status == PlacementStatus.LIVE)
                .distinct()
            )
        ]
