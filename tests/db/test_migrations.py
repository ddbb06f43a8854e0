"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from tessera.db.migrate import current_revision, head_revision
from tessera.models import Base


def test_the_database_is_at_the_newest_migration(engine: Engine) -> None:
    """`tessera db upgrade` leaves the database at the head revision."""
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to add: no model change is missing a migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []
