"""reservation, reservation_line, stock_ledger_entry and job without foreign keys

Every reservation wrote nine foreign-key checks; each one is an index probe and a KEY SHARE
lock on the referenced row, so concurrent reservations of one workspace all locked the same
workspace, variant and location rows (multixacts on a hot SKU's variant). Without them the
measured reservation rate rose about a quarter (ADR 0011). These rows are written only by the
inventory repository and the job service, from ids they have just read or written, and no
code path deletes a workspace, variant or location.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced table) for every key dropped
KEYS = (
    ("reservation", "workspace_id", "workspace"),
    ("reservation_line", "workspace_id", "workspace"),
    ("reservation_line", "reservation_id", "reservation"),
    ("reservation_line", "variant_id", "variant"),
    ("reservation_line", "location_id", "location"),
    ("stock_ledger_entry", "workspace_id", "workspace"),
    ("stock_ledger_entry", "variant_id", "variant"),
    ("stock_ledger_entry", "location_id", "location"),
    ("job", "workspace_id", "workspace"),
)


def _tables() -> list[str]:
    return list(dict.fromkeys(table for table, _, _ in KEYS))


def upgrade() -> None:
    for table in _tables():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, referenced in (k for k in KEYS if k[0] == table):
                batch_op.drop_constraint(
                    batch_op.f(f"fk_{table}_{column}_{referenced}"), type_="foreignkey"
                )


def downgrade() -> None:
    for table in reversed(_tables()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, referenced in (k for k in KEYS if k[0] == table):
                batch_op.create_foreign_key(
                    batch_op.f(f"fk_{table}_{column}_{referenced}"),
                    referenced,
                    [column],
                    ["id"],
                    ondelete="CASCADE",
                )
