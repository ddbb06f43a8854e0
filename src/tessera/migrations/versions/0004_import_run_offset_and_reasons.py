"""import runs keep their byte offset and rejection reasons

A resumed import seeks to the byte after its last committed chunk instead of reading the file
again from the start (a 64-bit count: files pass 2 GiB), and its summary counts rejections by
reason across every run of the same file.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:56:37.721469
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("byte_offset", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "reasons",
                tessera.db.types.JSONDocument(),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_column("reasons")
        batch_op.drop_column("byte_offset")
