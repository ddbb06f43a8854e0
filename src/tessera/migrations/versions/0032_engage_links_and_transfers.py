"""product and variant url/image_url; loyalty_transfer

Messages show a product's page and picture (recommendations, carts), so the catalog keeps
them, per product and, where a variant has its own, per variant. A merge's moved loyalty
entries are remembered per (merge, entry), so undoing the merge moves them back.

Revision ID: 0032
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("product", "variant"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("url", sa.String(length=2000), nullable=True))
            batch.add_column(sa.Column("image_url", sa.String(length=2000), nullable=True))
    op.create_table(
        "loyalty_transfer",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("merge_id", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("from_profile_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_transfer_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["loyalty_entry.id"],
            name=op.f("fk_loyalty_transfer_entry_id_loyalty_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_transfer")),
        sa.UniqueConstraint("merge_id", "entry_id", name="uq_loyalty_transfer_entry"),
    )
    op.create_index("ix_loyalty_transfer_merge", "loyalty_transfer", ["workspace_id", "merge_id"])


def downgrade() -> None:
    op.drop_index("ix_loyalty_transfer_merge", table_name="loyalty_transfer")
    op.drop_table("loyalty_transfer")
    for table in ("variant", "product"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("image_url")
            batch.drop_column("url")
