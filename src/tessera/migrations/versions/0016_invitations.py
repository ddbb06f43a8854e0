"""invitation, password_reset, app_user.last_workspace_id: people join workspaces by consent

People join a workspace by accepting an invitation addressed to their email (its link's token is
kept only as a SHA-256, like an API key's); an admin helps a member who lost their password with
a one-time reset link rather than choosing it for them. A partial unique index keeps one open
invitation per workspace and email on SQLite and PostgreSQL alike. ``last_workspace_id`` is where
a user's next sign-in lands.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "accepted_at IS NULL AND revoked_at IS NULL"
_ROLE = sa.Enum(
    "owner", "admin", "marketer", "analyst", "viewer", name="role", native_enum=False, length=16
)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, tessera.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("app_user", sa.Column("last_workspace_id", sa.String(40), nullable=True))
    op.create_table(
        "invitation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", _ROLE, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.String(length=80), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("accepted_at", nullable=True),
        sa.Column("accepted_by", sa.String(length=40), nullable=True),
        _when("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_invitation_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    op.create_index("ix_invitation_email", "invitation", ["email"], unique=False)
    op.create_index(
        "uq_invitation_open_email",
        "invitation",
        ["workspace_id", "email"],
        unique=True,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_password_reset_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_password_reset_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_token_hash")),
    )
    op.create_index(op.f("ix_password_reset_user_id"), "password_reset", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_password_reset_user_id"), table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_index("uq_invitation_open_email", table_name="invitation")
    op.drop_index("ix_invitation_email", table_name="invitation")
    op.drop_table("invitation")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_workspace_id")
