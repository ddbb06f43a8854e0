"""Migration 0020 re-kinds stored relay addresses as ``relay_email``, gives profiles their real
email back, takes relay addresses out of match records, and its downgrade undoes the kinds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from tessera.db.engine import make_engine
from tessera.db.migrate import alembic_config
from tessera.db.types import JSONDocument, UTCDateTime
from tessera.identity.graph.identifiers import sha256_hex
from tests.support.databases import fresh_postgres

POSTGRES_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
EARLY = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RELAY = "v9q2k1x7b3@scs.tiktokw.us"
LOOKALIKE = "maya@notscs.tiktokw.us.example.com"

WORKSPACE = sa.table(
    "workspace",
    *(sa.column(name) for name in ("id", "slug", "name", "default_region")),
    sa.column("created_at", UTCDateTime()),
)
CONFIG = sa.table(
    "identity_config",
    sa.column("workspace_id"),
    sa.column("salt"),
    *(sa.column(name, JSONDocument()) for name in ("blocked_values", "limits", "priorities")),
    sa.column("updated_at", UTCDateTime()),
)
PROFILE = sa.table(
    "profile",
    *(sa.column(name) for name in ("id", "workspace_id", "status", "name_key")),
    sa.column("traits", JSONDocument()),
    sa.column("trait_stamps", JSONDocument()),
    *(sa.column(name, UTCDateTime()) for name in ("created_at", "updated_at")),
)
IDENTIFIER = sa.table(
    "identifier",
    *(sa.column(name) for name in ("id", "workspace_id", "type", "value", "raw", "profile_id",
                                   "origin_profile_id")),
    *(sa.column(name, UTCDateTime()) for name in ("first_seen", "last_seen")),
)  # fmt: skip
MATCH_RECORD = sa.table(
    "identity_match_record",
    sa.column("profile_id"),
    sa.column("workspace_id"),
    sa.column("fields", JSONDocument()),
    sa.column("key_email"),
    sa.column("updated_at", UTCDateTime()),
)


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend with no tables, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relay.db'}"
        return
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL, "_relay") as url:
        yield url


def identifier(row_id: str, profile: str, kind: str, value: str, seen: datetime) -> dict[str, Any]:
    return {"id": row_id, "workspace_id": "ws_1", "type": kind, "value": value, "raw": value,
            "profile_id": profile, "origin_profile_id": profile, "first_seen": seen,
            "last_seen": seen}  # fmt: skip


def seed_0017(engine: Engine) -> None:
    """Maya signed up with her email, then bought on TikTok: at 0017 the relay address is an
    email and her email trait. Omar only ever bought on TikTok. Ines's real address looks
    like a relay domain but is not one."""
    profile = {"workspace_id": "ws_1", "status": "active", "name_key": None,
               "created_at": EARLY, "updated_at": LATE}  # fmt: skip
    with engine.begin() as connection:
        connection.execute(sa.insert(WORKSPACE).values(
            id="ws_1", slug="relay", name="Relay", default_region="US", created_at=EARLY
        ))  # fmt: skip
        connection.execute(sa.insert(CONFIG).values(
            workspace_id="ws_1", salt="s" * 32, blocked_values=[], limits={}, priorities=[],
            updated_at=EARLY,
        ))  # fmt: skip
        connection.execute(sa.insert(PROFILE), [
            {**profile, "id": "cus_maya",
             "traits": {"email": RELAY, "first_name": "Maya"},
             "trait_stamps": {"email": LATE.isoformat(), "first_name": EARLY.isoformat()}},
            {**profile, "id": "cus_omar", "traits": {"email": "O1@SCS.tiktokw.us"},
             "trait_stamps": {"email": LATE.isoformat()}},
            {**profile, "id": "cus_ines", "traits": {"email": LOOKALIKE},
             "trait_stamps": {"email": LATE.isoformat()}},
        ])  # fmt: skip
        connection.execute(sa.insert(IDENTIFIER), [
            identifier("idn_1", "cus_maya", "email", "maya.chen@gmail.com", EARLY),
            identifier("idn_2", "cus_maya", "email", "m.chen@outlook.com", EARLY.replace(day=9)),
            identifier("idn_3", "cus_maya", "email", RELAY, LATE),
            identifier("idn_4", "cus_maya", "email_sha256", sha256_hex(RELAY), LATE),
            identifier("idn_5", "cus_omar", "email", "o1@scs.tiktokw.us", LATE),
            identifier("idn_6", "cus_ines", "email", LOOKALIKE, LATE),
        ])  # fmt: skip
        connection.execute(sa.insert(MATCH_RECORD), [
            {"profile_id": "cus_maya", "workspace_id": "ws_1", "updated_at": LATE,
             "fields": {"email": RELAY, "first_name": "Maya"}, "key_email": RELAY},
            {"profile_id": "cus_ines", "workspace_id": "ws_1", "updated_at": LATE,
             "fields": {"email": LOOKALIKE}, "key_email": LOOKALIKE},
        ])  # fmt: skip


def stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return {
            "kinds": dict(connection.execute(sa.select(IDENTIFIER.c.id, IDENTIFIER.c.type)).all()),
            "profiles": {
                row.id: (row.traits, row.trait_stamps)
                for row in connection.execute(
                    sa.select(PROFILE.c.id, PROFILE.c.traits, PROFILE.c.trait_stamps)
                )
            },
            "records": {
                row.profile_id: (row.fields, row.key_email)
                for row in connection.execute(sa.select(MATCH_RECORD))
            },
            "config": sa.inspect(connection).get_columns("identity_config"),
        }


def test_stored_relay_addresses_become_relay_emails_and_profiles_their_real_email(
    empty_database: str,
) -> None:
    """At 0020 relay rows are relay_email, Maya's email trait is her newest real email (stamped
    when it was last seen) and the relay address is her relay_email trait, Omar has no email
    trait, match records hold no relay address, and Ines's look-alike is untouched; back at
    0019 the rows are emails again."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0017")
    engine = make_engine(empty_database)
    try:
        seed_0017(engine)
        command.upgrade(config, "0020")
        after = stored(engine)
        command.downgrade(config, "0019")
        back = stored(engine)
    finally:
        engine.dispose()

    assert after["kinds"] == {
        "idn_1": "email", "idn_2": "email", "idn_3": "relay_email", "idn_4": "email_sha256",
        "idn_5": "relay_email", "idn_6": "email",
    }  # fmt: skip
    stamp = EARLY.replace(day=9).isoformat()
    assert after["profiles"] == {
        "cus_maya": (
            {"email": "m.chen@outlook.com", "relay_email": RELAY, "first_name": "Maya"},
            {"email": stamp, "relay_email": LATE.isoformat(), "first_name": EARLY.isoformat()},
        ),
        "cus_omar": ({"relay_email": "O1@SCS.tiktokw.us"}, {"relay_email": LATE.isoformat()}),
        "cus_ines": ({"email": LOOKALIKE}, {"email": LATE.isoformat()}),
    }
    assert after["records"] == {
        "cus_maya": ({"email": None, "first_name": "Maya"}, None),
        "cus_ines": ({"email": LOOKALIKE}, LOOKALIKE),
    }
    assert "relay_domains" in {c["name"] for c in after["config"]}
    assert back["kinds"] == {**after["kinds"], "idn_3": "email", "idn_5": "email"}
    assert "relay_domains" not in {c["name"] for c in back["config"]}
