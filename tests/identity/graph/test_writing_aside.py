"""Writes sent from another thread while the stitch goes on: they land, and an error reaches the
caller."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.identity.graph.repository import IdentityRepository
from tessera.identity.graph.stitch import IDENTIFIER_COLUMNS
from tessera.kit.time import utcnow
from tessera.models.identity import Identifier
from tests.support.factories import make_workspace


def _row(workspace_id: str, n: int, value: str) -> tuple[object, ...]:
    now = utcnow()
    return (
        f"idn_{n:026d}",
        workspace_id,
        "email",
        value,
        value,
        "cus_1",
        "cus_1",
        now,
        now,
        None,
        "r",
    )


def test_the_block_runs_while_the_rows_are_copied_and_all_land(session: Session) -> None:
    ws = make_workspace(session, "aside-ok")
    repository = IdentityRepository(session)
    ran = []
    with repository.writing_aside() as aside:
        aside.copy_rows(Identifier, IDENTIFIER_COLUMNS, [_row(ws, 1, "a@x.com")])
        aside.copy_rows(Identifier, IDENTIFIER_COLUMNS, [_row(ws, 2, "b@x.com")])
        ran.append(True)
    count = session.scalar(
        select(func.count()).select_from(Identifier).where(Identifier.workspace_id == ws)
    )
    assert ran == [True] and count == 2


def test_a_failed_copy_raises_when_the_block_ends(session: Session) -> None:
    ws = make_workspace(session, "aside-fails")
    repository = IdentityRepository(session)
    rows = [_row(ws, 1, "same@x.com"), _row(ws, 2, "same@x.com")]  # one value twice
    ran = []
    with (
        pytest.raises((psycopg.errors.UniqueViolation, IntegrityError)) as raised,
        repository.writing_aside() as aside,
    ):
        aside.copy_rows(Identifier, IDENTIFIER_COLUMNS, rows)
        ran.append(True)
    assert "unique" in str(raised.value).lower()
    # PostgreSQL copies from another thread while the block runs; SQLite copies at once.
    on_postgres = session.get_bind().dialect.name == "postgresql"
    assert ran == ([True] if on_postgres else [])
