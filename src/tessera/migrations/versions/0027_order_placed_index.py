"""sales_order: index on (workspace_id, placed_at)

The overview's range and its period before, the orders list's date filter, the reports'
windows and attribution's conversions all ask for a workspace's orders placed between two
instants; without this index each of them read every order the workspace ever had.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 00:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_order_workspace_placed", ["workspace_id", "placed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_workspace_placed")
