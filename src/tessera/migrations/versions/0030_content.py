"""content_asset, content_version, content_review, content_rendition

Create's content library: assets, the versions uploaded for them (numbered by the asset's
version_count, unique per asset), reviews of versions, and renditions made from a master
version (one per master and preset). creator_id and deliverable_id carry no foreign key.

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_asset",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("image", "video", name="mediakind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("creator_id", sa.String(length=40), nullable=True),
        sa.Column("deliverable_id", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending_review",
                "approved",
                "revision_requested",
                "rejected",
                name="reviewstate",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_content_asset_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_asset")),
        sa.UniqueConstraint("workspace_id", "deliverable_id", name="uq_content_asset_deliverable"),
    )
    with op.batch_alter_table("content_asset", schema=None) as batch_op:
        batch_op.create_index(
            "ix_content_asset_creator", ["workspace_id", "creator_id"], unique=False
        )
        batch_op.create_index("ix_content_asset_status", ["workspace_id", "status"], unique=False)

    op.create_table(
        "content_version",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("parent_version_id", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending_review",
                "approved",
                "revision_requested",
                "rejected",
                name="reviewstate",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=300), nullable=True),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("image", "video", name="mediakind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("codec", sa.String(length=40), nullable=True),
        sa.Column("bitrate", sa.BigInteger(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("audio_codec", sa.String(length=40), nullable=True),
        sa.Column("perceptual_hash", sa.String(length=32), nullable=False),
        sa.Column("duplicate_of_version_id", sa.String(length=40), nullable=True),
        sa.Column("duplicate_distance", sa.Integer(), nullable=True),
        sa.Column("facts", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("spec_results", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["content_asset.id"],
            name=op.f("fk_content_version_asset_id_content_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_content_version_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
        sa.UniqueConstraint("asset_id", "number", name="uq_content_version_number"),
    )
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.create_index("ix_content_version_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "content_rendition",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("master_version_id", sa.String(length=40), nullable=False),
        sa.Column("preset", sa.String(length=40), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("facts", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("spec_results", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["content_asset.id"],
            name=op.f("fk_content_rendition_asset_id_content_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["master_version_id"],
            ["content_version.id"],
            name=op.f("fk_content_rendition_master_version_id_content_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_content_rendition_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_rendition")),
        sa.UniqueConstraint("master_version_id", "preset", name="uq_content_rendition_preset"),
    )
    op.create_table(
        "content_review",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "pending_review",
                "approved",
                "revision_requested",
                "rejected",
                name="reviewstate",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.String(length=4000), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["content_version.id"],
            name=op.f("fk_content_review_version_id_content_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_content_review_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_review")),
    )
    with op.batch_alter_table("content_review", schema=None) as batch_op:
        batch_op.create_index("ix_content_review_version", ["version_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("content_review", schema=None) as batch_op:
        batch_op.drop_index("ix_content_review_version")

    op.drop_table("content_review")
    op.drop_table("content_rendition")
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.drop_index("ix_content_version_workspace")

    op.drop_table("content_version")
    with op.batch_alter_table("content_asset", schema=None) as batch_op:
        batch_op.drop_index("ix_content_asset_status")
        batch_op.drop_index("ix_content_asset_creator")

    op.drop_table("content_asset")
