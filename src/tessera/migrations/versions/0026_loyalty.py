"""loyalty_program, loyalty_member, loyalty_entry, loyalty_code, loyalty_registration

Engage's loyalty: a program per workspace, a member per profile, the points ledger (a
balance is the sum of entries; each entry unique per workspace by its idempotency key),
reward codes redeemed once, and products registered from a retailer's receipt (each receipt
and each serial once).

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loyalty_member",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=60), nullable=True),
        sa.Column("joined_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_member_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_member")),
        sa.UniqueConstraint("workspace_id", "profile_id", name="uq_loyalty_member_profile"),
    )
    with op.batch_alter_table("loyalty_member", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_member_tier", ["workspace_id", "tier"], unique=False)

    op.create_table(
        "loyalty_program",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_per_unit", sa.Integer(), nullable=False),
        sa.Column("registration_points", sa.Integer(), nullable=False),
        sa.Column("expiry_months", sa.Integer(), nullable=True),
        sa.Column("tier_basis", sa.String(length=20), nullable=False),
        sa.Column("tiers", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("rewards", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("registration_key", sa.String(length=40), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_program_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_loyalty_program")),
        sa.UniqueConstraint("registration_key", name=op.f("uq_loyalty_program_registration_key")),
    )
    op.create_table(
        "loyalty_registration",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=120), nullable=False),
        sa.Column("serial", sa.String(length=120), nullable=False),
        sa.Column("retailer", sa.String(length=120), nullable=False),
        sa.Column("receipt_number", sa.String(length=120), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_registration_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_registration")),
        sa.UniqueConstraint(
            "workspace_id", "retailer", "receipt_number", name="uq_loyalty_receipt"
        ),
        sa.UniqueConstraint("workspace_id", "sku", "serial", name="uq_loyalty_serial"),
    )
    with op.batch_alter_table("loyalty_registration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_registration_profile", ["workspace_id", "profile_id"], unique=False
        )

    op.create_table(
        "loyalty_code",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reward_key", sa.String(length=60), nullable=False),
        sa.Column("reward_name", sa.String(length=200), nullable=False),
        sa.Column("discount_kind", sa.String(length=10), nullable=False),
        sa.Column("discount_value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_cost", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_order_ref", sa.String(length=255), nullable=True),
        sa.Column("redeemed_channel", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["loyalty_member.id"],
            name=op.f("fk_loyalty_code_member_id_loyalty_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_code_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_code")),
        sa.UniqueConstraint("code", name="uq_loyalty_code_code"),
    )
    with op.batch_alter_table("loyalty_code", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_code_member", ["member_id"], unique=False)

    op.create_table(
        "loyalty_entry",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earned",
                "redeemed",
                "expired",
                "reversed",
                "adjusted",
                name="entrykind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("detail", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("occurred_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["loyalty_member.id"],
            name=op.f("fk_loyalty_entry_member_id_loyalty_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_loyalty_entry_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_entry")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_loyalty_entry_key"),
    )
    with op.batch_alter_table("loyalty_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_entry_expiry", ["workspace_id", "expires_at"], unique=False
        )
        batch_op.create_index("ix_loyalty_entry_member", ["member_id", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loyalty_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_entry_member")
        batch_op.drop_index("ix_loyalty_entry_expiry")

    op.drop_table("loyalty_entry")
    with op.batch_alter_table("loyalty_code", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_code_member")

    op.drop_table("loyalty_code")
    with op.batch_alter_table("loyalty_registration", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_registration_profile")

    op.drop_table("loyalty_registration")
    op.drop_table("loyalty_program")
    with op.batch_alter_table("loyalty_member", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_member_tier")

    op.drop_table("loyalty_member")
