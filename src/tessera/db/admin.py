"""PostgreSQL databases made and dropped whole, next to a given one (tests and benchmarks)."""

from __future__ import annotations

from sqlalchemy import make_url, text

from tessera.db.engine import make_engine


def _run_on_server(url: str, *statements: str) -> None:
    """Run ``statements`` on the server of ``url``, connected to its ``postgres`` database
    outside any transaction (CREATE and DROP DATABASE refuse to run inside one)."""
    admin = make_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def recreate_database(url: str, name: str) -> str:
    """An empty database ``name`` on ``url``'s server, dropped first if it exists (whoever is
    connected); returns its URL."""
    _run_on_server(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on ``url``'s server, if it exists, whoever is connected."""
    _run_on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
