"""metric_snapshot

Measure's metric snapshots: each report of the scorecard computed once per workspace and
parameters, read by the dashboard and the API instead of computing on every request.

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_snapshot",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("params", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("as_of", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("computed_ms", sa.Integer(), nullable=False),
        sa.Column("stale_since", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_metric_snapshot_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_snapshot")),
        sa.UniqueConstraint("workspace_id", "kind", "params_hash", name="uq_metric_snapshot_key"),
    )


def downgrade() -> None:
    op.drop_table("metric_snapshot")
