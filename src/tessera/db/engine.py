"""Engines and the one transaction boundary, ``session_scope()``.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Its transactions start with
``BEGIN IMMEDIATE``: a transaction takes the write lock when it begins, so two processes never
deadlock upgrading a read lock to a write lock (which SQLite answers with an immediate
``database is locked`` that the busy timeout cannot help). Readers are never blocked in WAL mode
outside a transaction; inside one, SQLite is a single-writer database and says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def dumps_json(value: Any) -> str:
    """How JSON columns are written: orjson, several times faster than ``json`` (the event
    payload is most of an ingested row's cost). What orjson refuses (integers past 64 bits,
    nesting past 254 levels) falls back to ``json``; JSON readers see the same document."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def make_engine(url: str, *, ping_after_idle: float | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Tessera's connection settings applied.

    A PostgreSQL connection is checked with a ping (one round trip) each time it leaves the
    pool, so a server restart costs no request an error. ``ping_after_idle`` (seconds) pings
    only connections that sat in the pool longer than that: for a job worker, whose threads
    take a connection for every job, the ping was a third of a short job's round trips (see
    ``ping_when_idle``).
    """
    kwargs.setdefault("json_serializer", dumps_json)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", ping_after_idle is None)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if ping_after_idle is not None:
        ping_when_idle(engine, ping_after_idle)
    return engine


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection on checkout only when it was checked in over ``seconds`` ago.

    A connection used a moment ago is almost surely alive; if the server did go away in that
    moment, the statement fails, SQLAlchemy discards the pool's connections, and the caller's
    transaction fails as it would have mid-statement (a job retries). A connection that failed
    the ping is replaced before the caller sees it (``DisconnectionError``).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["tessera_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("tessera_checked_in")
        if since is None or time.monotonic() - since <= seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(
                f"the pooled connection failed its ping: {error}"
            ) from error


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block finishes, roll back if it raises.

    API requests, worker jobs and CLI commands each open exactly one of these at their edge;
    services below never commit.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
