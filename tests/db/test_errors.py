"""Which database errors mean "run it again", and what a CLI command says about them."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import typer
from sqlalchemy.exc import IntegrityError, OperationalError

from tessera.cli_support import friendly_errors
from tessera.db.errors import transient_reason


def test_deadlocks_lock_waits_and_a_locked_sqlite_file_are_transient() -> None:
    """Straight from psycopg or wrapped by SQLAlchemy; a broken constraint is not."""
    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    locked = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    broken = IntegrityError("INSERT ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    assert transient_reason(deadlock) == "a deadlock"
    assert transient_reason(OperationalError("SELECT ...", {}, deadlock)) == "a deadlock"
    assert transient_reason(psycopg.errors.LockNotAvailable("lock timeout")) is not None
    assert transient_reason(psycopg.errors.SerializationFailure("could not serialize")) is not None
    assert transient_reason(locked) is not None
    assert transient_reason(broken) is None
    assert transient_reason(psycopg.errors.UndefinedTable("no such table")) is None
    assert transient_reason(ValueError("not a database error")) is None


def test_a_cli_command_stopped_by_a_deadlock_says_to_run_it_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One line and exit code 1, no traceback; any other database error is not hidden."""

    @friendly_errors
    def stopped() -> None:
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    @friendly_errors
    def broken() -> None:
        raise psycopg.errors.UndefinedTable("no such table")

    with pytest.raises(typer.Exit) as exited:
        stopped()

    said = " ".join(capsys.readouterr().err.split())
    assert exited.value.exit_code == 1
    assert "because of a deadlock" in said
    assert said.endswith("run it again")
    with pytest.raises(psycopg.errors.UndefinedTable):
        broken()
