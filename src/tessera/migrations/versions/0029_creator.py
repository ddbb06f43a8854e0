"""creator, creator_account

Create's creators: a profile per creator (bio, captions, audience split, niches, rates, the
customer profile it is, its WordLlama embedding) and one account per platform, unique by
normalised handle per platform in a workspace.

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creator",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("captions", sa.Text(), nullable=False),
        sa.Column("niches", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("audience_countries", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("audience_ages", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("audience_genders", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("rates", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "prospect",
                "active",
                "paused",
                "declined",
                "archived",
                name="creatorstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_creator_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator")),
    )
    with op.batch_alter_table("creator", schema=None) as batch_op:
        batch_op.create_index("ix_creator_email", ["workspace_id", "email_key"], unique=False)
        batch_op.create_index("ix_creator_profile", ["workspace_id", "profile_id"], unique=False)
        batch_op.create_index("ix_creator_updated", ["workspace_id", "updated_at"], unique=False)
        batch_op.create_index(
            "ix_creator_workspace_status", ["workspace_id", "status", "id"], unique=False
        )

    op.create_table(
        "creator_account",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("creator_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=30), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("handle_key", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("engagement_rate", sa.Float(), nullable=True),
        sa.Column("details", tessera.db.types.JSONDocument(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creator.id"],
            name=op.f("fk_creator_account_creator_id_creator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_creator_account_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_account")),
        sa.UniqueConstraint("workspace_id", "platform", "handle_key", name="uq_creator_account"),
    )
    with op.batch_alter_table("creator_account", schema=None) as batch_op:
        batch_op.create_index("ix_creator_account_creator", ["creator_id"], unique=False)
        batch_op.create_index(
            "ix_creator_account_followers", ["workspace_id", "platform", "followers"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("creator_account", schema=None) as batch_op:
        batch_op.drop_index("ix_creator_account_followers")
        batch_op.drop_index("ix_creator_account_creator")

    op.drop_table("creator_account")
    with op.batch_alter_table("creator", schema=None) as batch_op:
        batch_op.drop_index("ix_creator_workspace_status")
        batch_op.drop_index("ix_creator_updated")
        batch_op.drop_index("ix_creator_profile")
        batch_op.drop_index("ix_creator_email")

    op.drop_table("creator")
