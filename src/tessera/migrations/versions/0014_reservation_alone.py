"""tessera_decline_statement(), and an index entry fewer per reservation

PostgreSQL only: the common reservation is one statement (ADR 0011); run autocommitted it is
its own transaction, so when a concurrent take beats its snapshot it cannot delete the
reservation row it claimed afterwards, as it does inside a caller's transaction. It calls this
function instead, which raises SQLSTATE TS001: the statement, and everything it wrote, is
rolled back, and the caller falls back to the general path (ADR 0018).

Both databases: ``ix_reservation_order_ref`` keeps only reservations that name an order (the one
query that uses it asks for an order's hold), so a checkout without one writes no entry there.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_reservation_order_ref", table_name="reservation")
    op.create_index(
        "ix_reservation_order_ref",
        "reservation",
        ["workspace_id", "order_ref"],
        postgresql_where=sa.text("order_ref IS NOT NULL"),
        sqlite_where=sa.text("order_ref IS NOT NULL"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION tessera_decline_statement(reason text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION 'declined: %', reason USING ERRCODE = 'TS001';
        END
        $$
        """
    )


def downgrade() -> None:
    op.drop_index("ix_reservation_order_ref", table_name="reservation")
    op.create_index("ix_reservation_order_ref", "reservation", ["workspace_id", "order_ref"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION tessera_decline_statement(text)")
