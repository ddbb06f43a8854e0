"""journey, journey_version, journey_instance, journey_step_run: journeys on the job runner

A journey's versions are immutable rows; an instance is one person (and entry key) inside one
journey, one at a time by a partial unique index on SQLite and PostgreSQL alike; each step
visit's outcome is one row, unique per (instance, visit) (ADR 0022).

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.db.types

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSIDE = "left_at IS NULL"
_STATUS = sa.Enum(
    "draft", "live", "paused", "archived", name="journeystatus", native_enum=False, length=16
)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, tessera.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, tessera.db.types.JSONDocument(), nullable=False)


def _inside(name: str, columns: list[str], unique: bool = False) -> None:
    op.create_index(
        name,
        "journey_instance",
        columns,
        unique=unique,
        postgresql_where=sa.text(_INSIDE),
        sqlite_where=sa.text(_INSIDE),
    )


def upgrade() -> None:
    op.create_table(
        "journey",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("live_version", sa.Integer(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("resumes", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_journey_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey")),
    )
    op.create_index("ix_journey_workspace", "journey", ["workspace_id", "id"])
    op.create_table(
        "journey_version",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _json("definition"),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _when("created_at"),
        _when("published_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journey.id"],
            name=op.f("fk_journey_version_journey_id_journey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_version")),
        sa.UniqueConstraint(
            "journey_id", "version", name=op.f("uq_journey_version_journey_id_version")
        ),
    )
    op.create_table(
        "journey_instance",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("entry_message_id", sa.String(length=200), nullable=False),
        sa.Column("current_step", sa.String(length=64), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("awaiting_event", sa.String(length=200), nullable=True),
        sa.Column("awaiting_key", sa.String(length=200), nullable=True),
        _when("wake_at", nullable=True),
        sa.Column("is_parked", sa.Boolean(), nullable=False),
        sa.Column("is_holdout", sa.Boolean(), nullable=False),
        _when("entered_at"),
        _when("left_at", nullable=True),
        sa.Column("exit_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journey.id"],
            name=op.f("fk_journey_instance_journey_id_journey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_instance")),
        sa.UniqueConstraint(
            "journey_id",
            "entry_message_id",
            name=op.f("uq_journey_instance_journey_id_entry_message_id"),
        ),
    )
    _inside("uq_journey_instance_inside", ["journey_id", "profile_id", "entry_key"], unique=True)
    _inside("ix_journey_instance_profile_inside", ["workspace_id", "profile_id"])
    op.create_index("ix_journey_instance_journey", "journey_instance", ["journey_id", "id"])
    op.create_index(
        "ix_journey_instance_person", "journey_instance", ["journey_id", "profile_id", "entry_key"]
    )
    op.create_table(
        "journey_step_run",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        _json("detail"),
        _when("at"),
        _when("recorded_at"),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["journey_instance.id"],
            name=op.f("fk_journey_step_run_instance_id_journey_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_step_run")),
        sa.UniqueConstraint(
            "instance_id", "visit", name=op.f("uq_journey_step_run_instance_id_visit")
        ),
    )
    op.create_index("ix_journey_step_run_journey_step", "journey_step_run", ["journey_id", "step"])


def downgrade() -> None:
    op.drop_table("journey_step_run")
    op.drop_table("journey_instance")
    op.drop_table("journey_version")
    op.drop_table("journey")
