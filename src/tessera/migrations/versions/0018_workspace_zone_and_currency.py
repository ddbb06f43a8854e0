"""A workspace's time zone and currency: the dashboard shows times and totals in them

Existing workspaces keep what they showed before: UTC and US dollars.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workspace",
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    )
    op.add_column(
        "workspace",
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    )


def downgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("currency")
        batch.drop_column("time_zone")
