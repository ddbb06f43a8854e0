"""identity: profiles, identifiers, links, merges, splits, conflicts, reviews, consent, erasure

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_config",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("blocked_values", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("limits", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("priorities", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("merge_threshold", sa.Float(), nullable=True),
        sa.Column("review_threshold", sa.Float(), nullable=True),
        sa.Column("match_model", tessera.db.types.JSONDocument(), nullable=True),
        sa.Column("trained_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_config_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_identity_config")),
    )
    op.create_table(
        "identity_conflict",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("profile_ids", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("identifier_type", sa.String(length=60), nullable=False),
        sa.Column("identifier_value", sa.String(length=320), nullable=False),
        sa.Column("cause_ref", sa.String(length=200), nullable=False),
        sa.Column("evidence", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "resolved", name="conflictstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_conflict_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_conflict")),
    )
    with op.batch_alter_table("identity_conflict", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_conflict_workspace", ["workspace_id", "status", "id"], unique=False
        )

    op.create_table(
        "identity_erasure",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("delete", "anonymise", name="erasuremode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("counts", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_erasure_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_erasure")),
    )
    with op.batch_alter_table("identity_erasure", schema=None) as batch_op:
        batch_op.create_index("ix_identity_erasure_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "identity_merge",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("survivor_profile_id", sa.String(length=40), nullable=False),
        sa.Column("absorbed_profile_id", sa.String(length=40), nullable=False),
        sa.Column("cause_kind", sa.String(length=20), nullable=False),
        sa.Column("cause_ref", sa.String(length=200), nullable=False),
        sa.Column("evidence", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("link_ids", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("survivor_identifier_ids", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("absorbed_identifier_ids", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_merge_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_merge")),
    )
    with op.batch_alter_table("identity_merge", schema=None) as batch_op:
        batch_op.create_index("ix_identity_merge_absorbed", ["absorbed_profile_id"], unique=False)
        batch_op.create_index("ix_identity_merge_survivor", ["survivor_profile_id"], unique=False)
        batch_op.create_index("ix_identity_merge_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "identity_review",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("candidate_profile_id", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("evidence", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "merged", "rejected", name="reviewstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_review_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_review")),
        sa.UniqueConstraint(
            "workspace_id",
            "profile_id",
            "candidate_profile_id",
            name=op.f("uq_identity_review_workspace_id_profile_id_candidate_profile_id"),
        ),
    )
    with op.batch_alter_table("identity_review", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_review_workspace", ["workspace_id", "status", "id"], unique=False
        )

    op.create_table(
        "identity_split",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("merge_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_split_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_split")),
    )
    with op.batch_alter_table("identity_split", schema=None) as batch_op:
        batch_op.create_index("ix_identity_split_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "identity_suppression",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erasure_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_suppression_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "digest", name=op.f("pk_identity_suppression")),
    )
    op.create_table(
        "profile",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "merged", name="profilestatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("merged_into_id", sa.String(length=40), nullable=True),
        sa.Column("traits", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("trait_stamps", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=True),
        sa.Column("first_seen", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen", tessera.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_profile_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile")),
    )
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_workspace_name", ["workspace_id", "name_key"], unique=False
        )
        batch_op.create_index(
            "ix_profile_workspace_status", ["workspace_id", "status", "id"], unique=False
        )

    op.create_table(
        "identifier",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("raw", sa.String(length=500), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("origin_profile_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("first_seen", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_identifier_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identifier_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifier")),
        sa.UniqueConstraint(
            "workspace_id", "type", "value", name=op.f("uq_identifier_workspace_id_type_value")
        ),
    )
    with op.batch_alter_table("identifier", schema=None) as batch_op:
        batch_op.create_index("ix_identifier_profile", ["profile_id"], unique=False)

    op.create_table(
        "identity_match_record",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("fields", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("key_name", sa.String(length=80), nullable=True),
        sa.Column("key_postcode", sa.String(length=80), nullable=True),
        sa.Column("key_email", sa.String(length=200), nullable=True),
        sa.Column("key_phone", sa.String(length=80), nullable=True),
        sa.Column("updated_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_identity_match_record_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_match_record_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_identity_match_record")),
    )
    with op.batch_alter_table("identity_match_record", schema=None) as batch_op:
        batch_op.create_index("ix_match_record_email", ["workspace_id", "key_email"], unique=False)
        batch_op.create_index("ix_match_record_name", ["workspace_id", "key_name"], unique=False)
        batch_op.create_index("ix_match_record_phone", ["workspace_id", "key_phone"], unique=False)
        batch_op.create_index(
            "ix_match_record_postcode", ["workspace_id", "key_postcode"], unique=False
        )

    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("identifier_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "granted", "denied", "withdrawn", name="consentstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("recorded_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("wording", sa.String(length=2000), nullable=False),
        sa.Column("evidence", tessera.db.types.JSONDocument(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identifier_id"],
            ["identifier.id"],
            name=op.f("fk_consent_identifier_id_identifier"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_consent_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_identifier",
            ["identifier_id", "purpose", "channel", "recorded_at"],
            unique=False,
        )
        batch_op.create_index("ix_consent_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "identity_link",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("identifier_id", sa.String(length=40), nullable=False),
        sa.Column("other_identifier_id", sa.String(length=40), nullable=False),
        sa.Column("cause_kind", sa.String(length=20), nullable=False),
        sa.Column("cause_ref", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tessera.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identifier_id"],
            ["identifier.id"],
            name=op.f("fk_identity_link_identifier_id_identifier"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_identifier_id"],
            ["identifier.id"],
            name=op.f("fk_identity_link_other_identifier_id_identifier"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_identity_link_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_link")),
        sa.UniqueConstraint(
            "identifier_id",
            "other_identifier_id",
            name=op.f("uq_identity_link_identifier_id_other_identifier_id"),
        ),
    )
    with op.batch_alter_table("identity_link", schema=None) as batch_op:
        batch_op.create_index("ix_identity_link_other", ["other_identifier_id"], unique=False)
        batch_op.create_index("ix_identity_link_workspace", ["workspace_id", "id"], unique=False)

    op.create_table(
        "identity_split_member",
        sa.Column("split_id", sa.String(length=40), nullable=False),
        sa.Column("identifier_id", sa.String(length=40), nullable=False),
        sa.Column("side", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identifier_id"],
            ["identifier.id"],
            name=op.f("fk_identity_split_member_identifier_id_identifier"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["split_id"],
            ["identity_split.id"],
            name=op.f("fk_identity_split_member_split_id_identity_split"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("split_id", "identifier_id", name=op.f("pk_identity_split_member")),
    )
    with op.batch_alter_table("identity_split_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_split_member_identifier", ["identifier_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_split_member", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_split_member_identifier")

    op.drop_table("identity_split_member")
    with op.batch_alter_table("identity_link", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_link_workspace")
        batch_op.drop_index("ix_identity_link_other")

    op.drop_table("identity_link")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_workspace")
        batch_op.drop_index("ix_consent_identifier")

    op.drop_table("consent")
    with op.batch_alter_table("identity_match_record", schema=None) as batch_op:
        batch_op.drop_index("ix_match_record_postcode")
        batch_op.drop_index("ix_match_record_phone")
        batch_op.drop_index("ix_match_record_name")
        batch_op.drop_index("ix_match_record_email")

    op.drop_table("identity_match_record")
    with op.batch_alter_table("identifier", schema=None) as batch_op:
        batch_op.drop_index("ix_identifier_profile")

    op.drop_table("identifier")
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_workspace_status")
        batch_op.drop_index("ix_profile_workspace_name")

    op.drop_table("profile")
    op.drop_table("identity_suppression")
    with op.batch_alter_table("identity_split", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_split_workspace")

    op.drop_table("identity_split")
    with op.batch_alter_table("identity_review", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_review_workspace")

    op.drop_table("identity_review")
    with op.batch_alter_table("identity_merge", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_merge_workspace")
        batch_op.drop_index("ix_identity_merge_survivor")
        batch_op.drop_index("ix_identity_merge_absorbed")

    op.drop_table("identity_merge")
    with op.batch_alter_table("identity_erasure", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_erasure_workspace")

    op.drop_table("identity_erasure")
    with op.batch_alter_table("identity_conflict", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_conflict_workspace")

    op.drop_table("identity_conflict")
    op.drop_table("identity_config")
