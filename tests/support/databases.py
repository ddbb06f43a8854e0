"""Fresh PostgreSQL databases for tests that need one of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import make_url

from tessera.config import load_settings
from tessera.db.admin import drop_database, recreate_database

POSTGRES_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@contextmanager
def fresh_postgres(server_url: str, suffix: str = "") -> Iterator[str]:
    """An empty database next to ``server_url``'s, named after it, this process's id and
    ``suffix`` (concurrent test runs on one server never share it), dropped afterwards."""
    base = load_settings(database_url=server_url).database_url
    name = f"{make_url(base).database}_{os.getpid()}{suffix}"
    try:
        yield recreate_database(base, name)
    finally:
        drop_database(base, name)
