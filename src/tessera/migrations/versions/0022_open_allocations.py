"""Open order allocations indexed by location and variant

``ix_order_allocation_open`` holds only allocations with units neither shipped nor cancelled,
so the orders behind an oversold balance and the pickups waiting at a store are found without
reading a location's whole sales history.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "fulfilled + cancelled < quantity"


def upgrade() -> None:
    op.create_index(
        "ix_order_allocation_open",
        "order_allocation",
        ["location_id", "variant_id"],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_order_allocation_open", table_name="order_allocation")
