"""job: partial indexes for claiming and pruning

The claim query reads queued rows in (priority, run_at) order and running rows by lease
expiry; pruning reads succeeded rows by finish time. Partial indexes keep each of these as
small as the rows it serves, however many finished jobs the table holds. They replace
``ix_job_due`` (status, run_at, priority), which could not serve the claim order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:37:00.991884
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where(status: str) -> dict[str, sa.TextClause]:
    clause = sa.text(f"status = '{status}'")
    return {"postgresql_where": clause, "sqlite_where": clause}


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_due")
        batch_op.create_index("ix_job_queued", ["priority", "run_at"], **_where("queued"))
        batch_op.create_index("ix_job_running_lease", ["locked_until"], **_where("running"))
        batch_op.create_index("ix_job_succeeded_finished", ["finished_at"], **_where("succeeded"))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_succeeded_finished")
        batch_op.drop_index("ix_job_running_lease")
        batch_op.drop_index("ix_job_queued")
        batch_op.create_index("ix_job_due", ["status", "run_at", "priority"], unique=False)
