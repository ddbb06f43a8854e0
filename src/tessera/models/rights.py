"""Usage rights: the license a creator granted for an asset, the platform authorisations for
partnership ads, and every placement (a use of an asset somewhere outside Tessera).

An asset is referenced by its id without a foreign key, as profiles are: a rendition is
governed by its master's license (``rights.domain.lineage_licenses``), so the license rows
stay with the master. A placement records which license (and authorisation) allowed it; when
the license ends the placement is marked for takedown rather than deleted, so the brand sees
what to pull and where.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class PlacementStatus(enum.StrEnum):
    LIVE = "live"
    TAKEDOWN_DUE = "takedown_due"  # its license ended or was revoked: pull it
    TAKEN_DOWN = "taken_down"


class AssetLicense(Base):
    """The rights granted for one asset: usages, platforms, territories, the contract's days
    (as UTC instants, end exclusive, computed in ``time_zone``), exclusivity and edits."""

    __tablename__ = "asset_license"
    __table_args__ = (
        Index("ix_asset_license_asset", "workspace_id", "asset_id"),
        Index("ix_asset_license_ends", "workspace_id", "ends_at"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lic"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(PrefixedId)
    creator_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    usages: Mapped[list[str]] = mapped_column(JSONDocument)
    platforms: Mapped[list[str]] = mapped_column(JSONDocument)
    territories: Mapped[list[str]] = mapped_column(JSONDocument)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    is_exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    edits_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    terms: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformAuthorisation(Base):
    """A creator's permission for partnership ads of one asset on ``platform`` (tiktok: a
    Spark code; meta: a partnership-ad permission), revocable at any time."""

    __tablename__ = "platform_authorisation"
    __table_args__ = (Index("ix_platform_authorisation_asset", "workspace_id", "asset_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("aut"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(PrefixedId)
    platform: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(200), default="")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(Base):
    """One use of an asset outside Tessera (a journey email, an ad, the product-page feed, a
    download), with the license that allowed it; ``ref`` names the place (an ad id, a
    template id), unique per asset, channel and usage."""

    __tablename__ = "placement"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "asset_id", "channel", "usage", "ref", name="uq_placement_place"
        ),
        Index("ix_placement_license", "workspace_id", "license_id", "status"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("plc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(PrefixedId)
    channel: Mapped[str] = mapped_column(String(40))
    usage: Mapped[str] = mapped_column(String(40))
    territory: Mapped[str] = mapped_column(String(2))
    ref: Mapped[str] = mapped_column(String(200))
    license_id: Mapped[str] = mapped_column(PrefixedId)
    authorisation_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[PlacementStatus] = mapped_column(
        StrEnumColumn(PlacementStatus), default=PlacementStatus.LIVE
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
