"""Fresh PostgreSQL databases for tests that need one of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import make_url, text

from tessera.config import load_settings
from tessera.db.engine import make_engine


@contextmanager
def fresh_postgres(server_url: str, suffix: str = "") -> Iterator[str]:
    """An empty database next to ``server_url``'s, named after it, this process's id and
    ``suffix`` (concurrent test runs on one server never share it), dropped afterwards."""
    base = make_url(load_settings(database_url=server_url).database_url)
    name = f"{base.database}_{os.getpid()}{suffix}"
    admin = make_engine(
        base.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
