"""Migration 0012 seals the feed credentials and connector secrets already stored in plaintext,
leaves the rest readable, and its downgrade opens them again, on every backend."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from tessera.db.engine import make_engine
from tessera.db.migrate import alembic_config, current_revision
from tessera.db.types import JSONDocument, UTCDateTime
from tessera.kit.secrets import SEALED, Keyring, SecretUnreadable
from tests.support.databases import fresh_postgres

POSTGRES_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
KEY = "migration-secret-key-0123456789abcdef"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SHOPIFY = {"access_token": "shpat_plain_0123456789"}
TIKTOK = {"access_token": "tts-plain-token", "app_secret": "tiktok-plain-secret"}
SHOP = {"shop_domain": "glow-lab.myshopify.com", "webhook_secret": "shpss_plain_0123456789"}

WORKSPACE = sa.table(
    "workspace",
    *(sa.column(name) for name in ("id", "slug", "name", "default_region")),
    sa.column("created_at", UTCDateTime()),
)
FEED = sa.table(
    "channel_feed",
    *(sa.column(name) for name in ("id", "workspace_id", "channel", "name", "adapter",
                                   "is_enabled", "safety_quantity", "percentage",
                                   "percentage_floor", "zero_below", "ring_fenced")),
    sa.column("settings", JSONDocument()),
    sa.column("credentials", JSONDocument()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)  # fmt: skip
SOURCE = sa.table(
    "source",
    *(sa.column(name) for name in ("id", "workspace_id", "kind", "name")),
    sa.column("settings", JSONDocument()),
    sa.column("created_at", UTCDateTime()),
)


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend with no tables, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sealing.db'}"
        return
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL, "_sealing") as url:
        yield url


def migrations(url: str, keyring: Keyring) -> Config:
    config = alembic_config(url)
    config.attributes["keyring"] = keyring
    return config


def seed_plaintext(engine: Engine) -> None:
    """What a database at 0011 holds: feeds and a shop with their secrets in the clear."""
    feed = {"workspace_id": "ws_1", "is_enabled": True, "safety_quantity": 0, "percentage": 100,
            "percentage_floor": 0, "zero_below": 0, "ring_fenced": 0, "created_at": NOW,
            "updated_at": NOW}  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            sa.insert(WORKSPACE).values(
                id="ws_1", slug="plain", name="Plain", default_region="US", created_at=NOW
            )
        )
        connection.execute(sa.insert(FEED), [
            {**feed, "id": "fed_1", "channel": "web", "name": "web", "adapter": "shopify",
             "settings": {"base_url": "https://glow.example", "location_id": "77"},
             "credentials": SHOPIFY},
            {**feed, "id": "fed_2", "channel": "tiktok_shop", "name": "tiktok",
             "adapter": "tiktok_shop", "settings": {"app_key": "app-1"}, "credentials": TIKTOK},
            {**feed, "id": "fed_3", "channel": "pop-up", "name": "log", "adapter": "log",
             "settings": {}, "credentials": {}},
        ])  # fmt: skip
        connection.execute(sa.insert(SOURCE), [
            {"id": "src_1", "workspace_id": "ws_1", "kind": "shopify", "name": "glow",
             "settings": SHOP, "created_at": NOW},
            {"id": "src_2", "workspace_id": "ws_1", "kind": "import", "name": "file import",
             "settings": {}, "created_at": NOW},
        ])  # fmt: skip


def stored(engine: Engine) -> dict[str, str]:
    """Every row's credentials or settings as the database holds them, read with plain SQL."""
    with engine.connect() as connection:
        feeds = connection.execute(
            sa.text("SELECT id, CAST(credentials AS TEXT) FROM channel_feed ORDER BY id")
        ).all()
        sources = connection.execute(
            sa.text("SELECT id, CAST(settings AS TEXT) FROM source ORDER BY id")
        ).all()
    return {str(row_id): str(value) for row_id, value in [*feeds, *sources]}


def test_upgrading_seals_plaintext_secrets_and_downgrading_opens_them(
    empty_database: str,
) -> None:
    """At 0012 no secret is in the clear and each opens to what it was; a shop's domain, the
    feed settings and empty credentials stay as they were; back at 0011 all is as before."""
    keyring = Keyring(KEY)
    config = migrations(empty_database, keyring)
    command.upgrade(config, "0011")
    engine = make_engine(empty_database)
    try:
        seed_plaintext(engine)
        before = stored(engine)

        command.upgrade(config, "0012")
        sealed = stored(engine)
        with engine.connect() as connection:
            revision = current_revision(connection)
        command.downgrade(config, "0011")
        opened = stored(engine)
    finally:
        engine.dispose()

    assert revision == "0012"
    for secret in ("shpat_plain", "tts-plain", "tiktok-plain", "shpss_plain"):
        assert all(secret not in value for value in sealed.values())
    assert keyring.open(json.loads(sealed["fed_1"]), "it") == SHOPIFY
    assert keyring.open(json.loads(sealed["fed_2"]), "it") == TIKTOK
    shop = json.loads(sealed["src_1"])
    assert shop["shop_domain"] == SHOP["shop_domain"]
    assert keyring.open(shop["webhook_secret"], "it") == SHOP["webhook_secret"]
    assert [json.loads(sealed[row]) for row in ("fed_3", "src_2")] == [{}, {}]
    assert {row: json.loads(value) for row, value in opened.items()} == {
        row: json.loads(value) for row, value in before.items()
    }


def test_upgrading_leaves_sealed_values_alone_and_the_downgrade_names_what_it_cannot_open(
    empty_database: str,
) -> None:
    """A value sealed already is not sealed twice; a downgrade with another key stops at the
    first row it cannot open, naming it, and leaves the database at 0012."""
    keyring = Keyring(KEY)
    command.upgrade(migrations(empty_database, keyring), "0011")
    engine = make_engine(empty_database)
    try:
        seed_plaintext(engine)
        already = keyring.seal(TIKTOK)
        with engine.begin() as connection:
            connection.execute(
                sa.update(FEED).where(FEED.c.id == "fed_2").values(credentials=already)
            )

        command.upgrade(migrations(empty_database, keyring), "0012")
        kept = json.loads(stored(engine)["fed_2"])
        with pytest.raises(SecretUnreadable) as refused:
            command.downgrade(migrations(empty_database, Keyring("another-key-0123456789")), "0011")
        with engine.connect() as connection:
            revision = current_revision(connection)
        still = stored(engine)
    finally:
        engine.dispose()

    assert kept == already
    assert refused.value.detail.startswith("the credentials of feed fed_1 cannot be decrypted")
    assert revision == "0012"
    assert json.loads(still["fed_1"])[SEALED]
