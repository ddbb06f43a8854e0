"""Usage rights: asset_license, platform_authorisation, placement

Issue 18's rights check reads these: the license a creator granted for an asset, the platform
authorisations for partnership ads, and each use of an asset outside Tessera.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 00:42:34.492889
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_license",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("creator_id", sa.String(length=40), nullable=True),
        sa.Column("usages", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("platforms", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("territories", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("starts_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("is_exclusive", sa.Boolean(), nullable=False),
        sa.Column("edits_allowed", sa.Boolean(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("revoked_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_asset_license_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_license")),
    )
    with op.batch_alter_table("asset_license", schema=None) as batch_op:
        batch_op.create_index("ix_asset_license_asset", ["workspace_id", "asset_id"], unique=False)
        batch_op.create_index("ix_asset_license_ends", ["workspace_id", "ends_at"], unique=False)

    op.create_table(
        "placement",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("usage", sa.String(length=40), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("authorisation_id", sa.String(length=40), nullable=True),
        sa.Column("starts_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "live",
                "takedown_due",
                "taken_down",
                name="placementstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_placement_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
        sa.UniqueConstraint(
            "workspace_id", "asset_id", "channel", "usage", "ref", name="uq_placement_place"
        ),
    )
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_placement_license", ["workspace_id", "license_id", "status"], unique=False
        )

    op.create_table(
        "platform_authorisation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("granted_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_platform_authorisation_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_authorisation")),
    )
    with op.batch_alter_table("platform_authorisation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_platform_authorisation_asset", ["workspace_id", "asset_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("platform_authorisation", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_authorisation_asset")

    op.drop_table("platform_authorisation")
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_license")

    op.drop_table("placement")
    with op.batch_alter_table("asset_license", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_license_ends")
        batch_op.drop_index("ix_asset_license_asset")

    op.drop_table("asset_license")
