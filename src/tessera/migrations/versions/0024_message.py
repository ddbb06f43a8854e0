"""message, message_template, message_suppression, message_setting: Engage's outbox

``message`` is the outbox (ADR 0022): one row per email or SMS, unique per workspace by its
idempotency key, committed ``sending`` before the provider is called. ``message_template``
holds Liquid templates checked at save time; ``message_suppression`` salted digests of
addresses never to send to (hard bounces, complaints, SMS STOP); ``message_setting`` each
workspace's sender identity, quiet hours, caps and its sealed SMS credentials.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", name="messagechannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "purpose",
            sa.Enum(
                "marketing", "transactional", name="messagepurpose", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("template_name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "held",
                "sending",
                "sent",
                "delivered",
                "bounced",
                "complained",
                "failed",
                "skipped",
                name="messagestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("reason_detail", sa.String(length=1000), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("context", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("origin", tessera.db.types.JSONDocument(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("links", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("sms_encoding", sa.String(length=10), nullable=True),
        sa.Column("sms_segments", sa.Integer(), nullable=True),
        sa.Column("not_before", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=120), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("click_count", sa.Integer(), nullable=False),
        sa.Column("queued_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("held_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sending_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_clicked_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_message_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint(
            "workspace_id", "idempotency_key", name=op.f("uq_message_workspace_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_address", ["workspace_id", "channel", "to_address", "status"], unique=False
        )
        batch_op.create_index(
            "ix_message_profile", ["workspace_id", "profile_id", "channel", "id"], unique=False
        )
        batch_op.create_index("ix_message_provider", ["workspace_id", "provider_id"], unique=False)
        batch_op.create_index("ix_message_workspace", ["workspace_id", "id"], unique=False)
        batch_op.create_index(
            "ix_message_workspace_status", ["workspace_id", "status", "id"], unique=False
        )

    op.create_table(
        "message_setting",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("brand_name", sa.String(length=200), nullable=False),
        sa.Column("email_from", sa.String(length=320), nullable=False),
        sa.Column("sms_from", sa.String(length=40), nullable=False),
        sa.Column("help_text", sa.String(length=300), nullable=False),
        sa.Column("default_timezone", sa.String(length=64), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=False),
        sa.Column("quiet_end", sa.String(length=5), nullable=False),
        sa.Column("email_cap_hours", sa.Integer(), nullable=False),
        sa.Column("sms_cap_hours", sa.Integer(), nullable=False),
        sa.Column("sms_account_sid", sa.String(length=64), nullable=False),
        sa.Column("credentials", tessera.db.types.SealedJSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_message_setting_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_message_setting")),
    )
    op.create_table(
        "message_suppression",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", name="messagechannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_message_suppression_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "digest", name=op.f("pk_message_suppression")),
    )
    op.create_table(
        "message_template",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", name="messagechannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum("html", "mjml", "text", name="templateformat", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_message_template_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_message_template_workspace_id_name")
        ),
    )
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.create_index("ix_message_template_workspace", ["workspace_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.drop_index("ix_message_template_workspace")

    op.drop_table("message_template")
    op.drop_table("message_suppression")
    op.drop_table("message_setting")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_workspace_status")
        batch_op.drop_index("ix_message_workspace")
        batch_op.drop_index("ix_message_provider")
        batch_op.drop_index("ix_message_profile")
        batch_op.drop_index("ix_message_address")

    op.drop_table("message")
