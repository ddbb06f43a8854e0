"""The benchmarks' PostgreSQL database: found, created if missing, migrated, or politely skipped."""

from __future__ import annotations

import os

from rich.console import Console
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from tessera.config import load_settings
from tessera.db.engine import make_engine
from tessera.db.migrate import upgrade

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tessera_bench"


def bench_database_url(console: Console) -> str | None:
    """TESSERA_BENCH_DATABASE_URL (default: a local ``tessera_bench``), created and migrated.

    None, after saying why, when no PostgreSQL answers there: benchmarks skip, they do not fail.
    """
    raw = os.environ.get("TESSERA_BENCH_DATABASE_URL") or DEFAULT_URL
    url = make_url(load_settings(database_url=raw).database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() != "postgresql":
        console.print(f"[yellow]skipped:[/yellow] {shown} is not PostgreSQL")
        return None
    admin = make_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        console.print(
            f"[yellow]skipped:[/yellow] no PostgreSQL at {shown} ({reason}); "
            "set TESSERA_BENCH_DATABASE_URL to one"
        )
        return None
    finally:
        admin.dispose()
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    return rendered


# The server settings a figure depends on most: how much of the data stays in the server's own
# cache, and how often a bulk write forces a checkpoint. Debian's defaults are 128MB and 1GB.
SHOWN_SETTINGS = ("server_version", "shared_buffers", "max_wal_size", "synchronous_commit")


def server_settings(url: str) -> str:
    """``name=value, ...`` of ``SHOWN_SETTINGS`` on the server at ``url``, to print with a
    benchmark's figures."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            shown = [
                f"{name}={connection.execute(text(f'SHOW {name}')).scalar_one()}"
                for name in SHOWN_SETTINGS
            ]
    finally:
        engine.dispose()
    return ", ".join(shown)
