"""Sign-in limits hold across server processes: 4 processes x 4 threads post wrong passwords
at the same moment against PostgreSQL, and exactly the limit reach the password check."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.models.workspace import LoginAttempt
from tessera.workspace.throttle.domain import account_key
from tests.dashboard.login_probe import attempt_logins
from tests.support.factories import make_tenant

PROCESSES = 4
THREADS = 4
PER_THREAD = 3  # 48 attempts in all


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    """Four spawned processes, started once for both tests (spawning is the slow part)."""
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        yield pool


def run(pool: Any, url: str, emails: list[list[list[str]]]) -> Counter[int]:
    """Every process posts its threads' emails from the same moment; all answers by status."""
    start_at = time.time() + 3.0  # time to build the app in each process first
    answers = pool.starmap(
        attempt_logins, [(url, mine, "wrong password", start_at) for mine in emails]
    )
    return sum((Counter(a) for a in answers), Counter())


def counter(url: str, key: str) -> tuple[int, bool] | None:
    engine = make_engine(url)
    with Session(engine) as session:
        row = session.scalar(select(LoginAttempt).where(LoginAttempt.key == key))
    engine.dispose()
    return None if row is None else (row.attempt_count, row.blocked_until is not None)


@pytest.mark.postgres_only
def test_concurrent_guesses_at_one_account_reach_the_password_check_five_times(
    postgres_url: str, pool: Any
) -> None:
    """48 wrong passwords for one account at once: 5 are checked (401), 43 refused (429)."""
    engine = make_engine(postgres_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "acme")
    engine.dispose()
    emails = [[[tenant.owner_email] * PER_THREAD] * THREADS] * PROCESSES

    statuses = run(pool, postgres_url, emails)

    assert statuses == {401: 5, 429: 43}
    assert counter(postgres_url, account_key(tenant.owner_email)) == (5, True)
    assert counter(postgres_url, "address:testclient") == (5, False)


@pytest.mark.postgres_only
def test_concurrent_guesses_from_one_address_reach_the_password_check_twenty_times(
    postgres_url: str, pool: Any
) -> None:
    """48 wrong passwords, each for another email, from one address at once: 20 are checked,
    28 refused."""
    emails = [
        [[f"guess-{p}-{t}-{n}@acme.example" for n in range(PER_THREAD)] for t in range(THREADS)]
        for p in range(PROCESSES)
    ]

    statuses = run(pool, postgres_url, emails)

    assert statuses == {401: 20, 429: 28}
    assert counter(postgres_url, "address:testclient") == (20, True)
