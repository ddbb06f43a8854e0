"""The link that brought an identifier in, on the identifier's own row

A bulk stitch wrote one ``identity_link`` row (three index entries) for every new identifier,
the link to the identifier it joined through: 1.6M of the 1M-event benchmark's rows. That link
now sits on the identifier (``joined_via_id``, ``joined_ref``); later links, those between
identifiers already known, stay rows (ADR 0010). Existing rows keep their links where they are.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("identifier", sa.Column("joined_via_id", sa.String(40), nullable=True))
    op.add_column("identifier", sa.Column("joined_ref", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identifier") as batch:
        batch.drop_column("joined_ref")
        batch.drop_column("joined_via_id")
