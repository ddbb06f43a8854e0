"""profile: index on merged_into_id

A merge repoints the profiles already absorbed into the profile it absorbs; without this index
each merge scanned the whole profile table to find them.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.create_index("ix_profile_merged_into", ["merged_into_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_merged_into")
