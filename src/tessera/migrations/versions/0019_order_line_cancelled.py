"""Order lines the platform cancelled while their order lives on

``order_line.is_cancelled`` marks an item cancelled on its own (an Amazon order report's
``Cancelled`` row for one item of a live order): the line stays for the record, its total is
zero and no stock is owed for it.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "order_line",
        sa.Column("is_cancelled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("order_line") as batch:
        batch.drop_column("is_cancelled")
