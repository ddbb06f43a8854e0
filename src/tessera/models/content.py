"""Create's content: assets, the versions uploaded for them, reviews and renditions.

An asset is what a deliverable (or a brand) delivers; each upload for it is a version numbered
by the asset's ``version_count`` (raised by one conditional UPDATE, so two uploads at once get
two numbers). A version keeps what its bytes are (sniffed, probed) and its spec report; a
rendition is a file made from one version (its master) for a channel, with its own report.
Creators belong to the creator package: ``creator_id`` is a plain string, no foreign key.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class ReviewState(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REVISION_REQUESTED = "revision_requested"
    REJECTED = "rejected"


class ContentAsset(Base):
    """One piece of content, whatever number of versions it went through."""

    __tablename__ = "content_asset"
    __table_args__ = (
        Index("ix_content_asset_creator", "workspace_id", "creator_id"),
        Index("ix_content_asset_status", "workspace_id", "status"),
        UniqueConstraint("workspace_id", "deliverable_id", name="uq_content_asset_deliverable"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ast"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MediaKind] = mapped_column(StrEnumColumn(MediaKind))
    # No foreign keys: creators and deliverables are other packages' (the creator package).
    creator_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    deliverable_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[ReviewState] = mapped_column(StrEnumColumn(ReviewState))
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContentVersion(Base):
    """One upload: where its bytes are, what they are, and how they measure up."""

    __tablename__ = "content_version"
    __table_args__ = (
        UniqueConstraint("asset_id", "number", name="uq_content_version_number"),
        Index("ix_content_version_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("asv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(ForeignKey("content_asset.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    parent_version_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    status: Mapped[ReviewState] = mapped_column(StrEnumColumn(ReviewState))
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(300))
    thumbnail_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    media_type: Mapped[str] = mapped_column(String(60))  # image/png, video/mp4...
    kind: Mapped[MediaKind] = mapped_column(StrEnumColumn(MediaKind))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    codec: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bitrate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String(40), nullable=True)
    perceptual_hash: Mapped[str] = mapped_column(String(32))
    # The closest earlier upload of another asset, when near enough to be the same picture.
    duplicate_of_version_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    duplicate_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # all the probe read
    spec_results: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContentReview(Base):
    """A decision on a version, with the reviewer's words."""

    __tablename__ = "content_review"
    __table_args__ = (Index("ix_content_review_version", "version_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("arv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(ForeignKey("content_version.id", ondelete="CASCADE"))
    decision: Mapped[ReviewState] = mapped_column(StrEnumColumn(ReviewState))
    comment: Mapped[str] = mapped_column(String(4000), default="")
    actor: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContentRendition(Base):
    """A file made from a master version for a channel; one per master and preset."""

    __tablename__ = "content_rendition"
    __table_args__ = (
        UniqueConstraint("master_version_id", "preset", name="uq_content_rendition_preset"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ren"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(ForeignKey("content_asset.id", ondelete="CASCADE"))
    master_version_id: Mapped[str] = mapped_column(
        ForeignKey("content_version.id", ondelete="CASCADE")
    )
    preset: Mapped[str] = mapped_column(String(40))
    storage_key: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    spec_results: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
