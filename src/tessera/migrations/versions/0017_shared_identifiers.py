"""Shared identifiers: a device id several people sign in on belongs to none of them

``identifier.is_shared`` marks an anonymous or device id that signed in as more distinct user
ids than the workspace allows (``identity_config.shared_after``; unset means the default of 3).
A shared identifier is detached from the person it first joined and joins nobody afterwards.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "identifier",
        sa.Column("is_shared", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_identifier_shared",
        "identifier",
        ["workspace_id"],
        postgresql_where=sa.text("is_shared"),
        sqlite_where=sa.text("is_shared"),
    )
    op.add_column("identity_config", sa.Column("shared_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_config") as batch:
        batch.drop_column("shared_after")
    op.drop_index("ix_identifier_shared", table_name="identifier")
    with op.batch_alter_table("identifier") as batch:
        batch.drop_column("is_shared")
