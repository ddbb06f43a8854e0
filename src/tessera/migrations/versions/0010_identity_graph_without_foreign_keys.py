"""identifier and identity_link without foreign keys; no (workspace, id) index on links

A bulk stitch writes millions of identifiers and links; a key check per row and reference
doubled its cost. The stitcher (under the workspace lock) is the only writer and erasure
deletes explicitly (ADR 0010). No query reads links by workspace and id.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identifier", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_identifier_profile_id_profile"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_identifier_workspace_id_workspace"), type_="foreignkey"
        )

    with op.batch_alter_table("identity_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_link_workspace"))
        batch_op.drop_constraint(
            batch_op.f("fk_identity_link_workspace_id_workspace"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_identity_link_identifier_id_identifier"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_identity_link_other_identifier_id_identifier"), type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_link", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_link_other_identifier_id_identifier"),
            "identifier",
            ["other_identifier_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_link_identifier_id_identifier"),
            "identifier",
            ["identifier_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_link_workspace_id_workspace"),
            "workspace",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_identity_link_workspace"), ["workspace_id", "id"], unique=False
        )

    with op.batch_alter_table("identifier", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_identifier_workspace_id_workspace"),
            "workspace",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identifier_profile_id_profile"),
            "profile",
            ["profile_id"],
            ["id"],
            ondelete="CASCADE",
        )
