"""segment, segment_member, segment_evaluation, segment_size, audience, audience_member

Engage's segments: a rule per segment, its members materialised (unique per segment and
profile), one evaluation row per person whose lock serialises recomputes, daily sizes; and
audiences, named lists of people fed by hand, by journeys or by a segment.

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_evaluation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("evaluated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_evaluation")),
        sa.UniqueConstraint(
            "workspace_id", "profile_id", name=op.f("uq_segment_evaluation_workspace_id_profile_id")
        ),
    )
    op.create_table(
        "segment",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("rule", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_segment_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_segment_workspace_id_name")),
    )
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.create_index("ix_segment_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "audience",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_segment_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_segment_id"],
            ["segment.id"],
            name=op.f("fk_audience_source_segment_id_segment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_audience_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_audience_workspace_id_name")),
    )
    with op.batch_alter_table("audience", schema=None) as batch_op:
        batch_op.create_index("ix_audience_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "segment_member",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_member_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_member")),
        sa.UniqueConstraint(
            "segment_id", "profile_id", name=op.f("uq_segment_member_segment_id_profile_id")
        ),
    )
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_member_page", ["segment_id", "entered_at", "profile_id"], unique=False
        )
        batch_op.create_index(
            "ix_segment_member_profile", ["workspace_id", "profile_id"], unique=False
        )

    op.create_table(
        "segment_size",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_size_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_size")),
        sa.UniqueConstraint("segment_id", "day", name=op.f("uq_segment_size_segment_id_day")),
    )
    op.create_table(
        "audience_member",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("audience_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audience_id"],
            ["audience.id"],
            name=op.f("fk_audience_member_audience_id_audience"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_member")),
        sa.UniqueConstraint(
            "audience_id", "profile_id", name=op.f("uq_audience_member_audience_id_profile_id")
        ),
    )
    with op.batch_alter_table("audience_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audience_member_profile", ["workspace_id", "profile_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audience_member", schema=None) as batch_op:
        batch_op.drop_index("ix_audience_member_profile")

    op.drop_table("audience_member")
    op.drop_table("segment_size")
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_member_profile")
        batch_op.drop_index("ix_segment_member_page")

    op.drop_table("segment_member")
    with op.batch_alter_table("audience", schema=None) as batch_op:
        batch_op.drop_index("ix_audience_workspace")

    op.drop_table("audience")
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_workspace")

    op.drop_table("segment")
    op.drop_table("segment_evaluation")
