"""Migration 0021 gives the profiles already stored their search keys, as the stitch would
write them, and its downgrade puts the old name index back, on every backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from tessera.db.engine import make_engine
from tessera.db.migrate import alembic_config, current_revision
from tessera.db.types import JSONDocument, UTCDateTime
from tessera.identity.graph.identifiers import SEARCH_COLUMNS, search_keys
from tests.support.databases import fresh_postgres

POSTGRES_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WORKSPACE = sa.table(
    "workspace",
    *(sa.column(name) for name in ("id", "slug", "name", "default_region")),
    sa.column("created_at", UTCDateTime()),
)
PROFILE = sa.table(
    "profile",
    *(sa.column(name) for name in ("id", "workspace_id", "status", "name_key")),
    sa.column("traits", JSONDocument()),
    sa.column("trait_stamps", JSONDocument()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
TRAITS = {
    "cus_1": {"first_name": "Zoë", "last_name": "Dubois", "email": " Zoe.Dubois@Example.FR "},
    "cus_2": {"name": "Sir John Smith Bt.", "phone": "020 7946 0958"},
    "cus_3": {"lastName": "Lindqvist", "phone": "+44 20 7946 0958", "email": "not an email"},
    "cus_4": {},
}


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend with no tables, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'search.db'}"
        return
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL, "_search_keys") as url:
        yield url


def keys(engine: Engine) -> dict[str, tuple[str | None, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT id, {', '.join(SEARCH_COLUMNS)} FROM profile ORDER BY id")
        ).all()
    return {str(row[0]): tuple(row[1:]) for row in rows}


def test_upgrading_derives_every_profiles_keys_and_downgrading_restores_the_name_index(
    empty_database: str,
) -> None:
    """At 0021 each profile holds exactly the keys ``search_keys`` gives its traits in its
    workspace's region (GB here), and a profile without traits holds none; back at 0020 the
    name index is there again and the new columns are gone."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0017")
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(WORKSPACE).values(
                    id="ws_1", slug="uk", name="UK", default_region="GB", created_at=NOW
                )
            )
            connection.execute(
                sa.insert(PROFILE),
                [
                    {
                        "id": pid,
                        "workspace_id": "ws_1",
                        "status": "active",
                        "name_key": "old",
                        "traits": traits,
                        "trait_stamps": {},
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for pid, traits in TRAITS.items()
                ],
            )

        command.upgrade(config, "0021")
        upgraded = keys(engine)
        command.downgrade(config, "0020")
        with engine.connect() as connection:
            revision = current_revision(connection)
            columns = {c["name"] for c in sa.inspect(connection).get_columns("profile")}
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("profile")}
    finally:
        engine.dispose()

    assert upgraded == {
        pid: tuple(search_keys(traits, "GB")[c] for c in SEARCH_COLUMNS)
        for pid, traits in TRAITS.items()
    }
    assert upgraded["cus_1"] == ("zoe dubois", "dubois zoe", "zoe.dubois@example.fr",
                                 "example.fr", None)  # fmt: skip
    assert upgraded["cus_2"] == ("john smith", "smith john", None, None, "2079460958")
    assert upgraded["cus_3"] == ("lindqvist", "lindqvist", None, None, "2079460958")
    assert upgraded["cus_4"] == (None, None, None, None, None)
    assert revision == "0020"
    assert not {"surname_key", "email_key", "email_domain", "phone_key"} & columns
    assert "ix_profile_workspace_name" in indexes
