"""login_attempt: counters that throttle dashboard sign-in attempts

One row per account (a hash of the normalised email) or client address that tried to sign in
recently: the start of its window, the attempts counted in it and, once the limit is reached,
the time until which further attempts are refused without checking a password (ADR 0016).
The index on window_started_at lets expired rows be found and pruned without a scan.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_started_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("blocked_until", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempt_window_started_at"), ["window_started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempt_window_started_at"))
    op.drop_table("login_attempt")
