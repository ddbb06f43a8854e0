"""The link that brought an identifier in, on the identifier's own row; the graph clock

A bulk stitch wrote one ``identity_link`` row (three index entries) for every new identifier,
the link to the identifier it joined through: 1.6M of the 1M-event benchmark's rows. That link
now sits on the identifier (``joined_via_id``, ``joined_ref``); later links, those between
identifiers already known, stay rows (ADR 0010). Existing rows keep their links where they are.

``identity_graph_clock`` counts, per workspace, the transactions that locked its graph for
writing, so a stitch can tell whether what its process remembers of the graph is still true
(``identity.graph_memory``); existing workspaces start at 1, so only a workspace made since
(whose graph nobody has written) ever sees the clock's first value.

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
    op.create_table(
        "identity_graph_clock",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_graph_clock_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_identity_graph_clock")),
    )
    # Workspaces that exist already may hold identifiers: their clock starts past its first
    # value, which only a workspace whose graph was never written has.
    op.execute(
        "INSERT INTO identity_graph_clock (workspace_id, version) SELECT id, 1 FROM workspace"
    )


def downgrade() -> None:
    op.drop_table("identity_graph_clock")
    with op.batch_alter_table("identifier") as batch:
        batch.drop_column("joined_ref")
        batch.drop_column("joined_via_id")
