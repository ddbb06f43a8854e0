"""sales_order: index on (workspace_id, order_number)

A store clerk finds a customer by the order number on a receipt; the customer 360's search
looks it up through this index instead of scanning the workspace's orders.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 22:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_order_workspace_number", ["workspace_id", "order_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_workspace_number")
