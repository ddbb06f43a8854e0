"""Too many sign-in attempts against one account, or from one address, are refused for a while
without the password being checked (ADR 0016)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.kit.time import ManualClock
from tessera.models.workspace import AuditEntry, LoginAttempt, Role
from tessera.workspace.service import WorkspaceService
from tessera.workspace.throttle.domain import account_key
from tests.dashboard.conftest import sign_in
from tests.support.factories import PASSWORD, Tenant

WRONG = "not the password"
REFUSAL = "Too many attempts; try again in 15 minutes."


def fail(client: TestClient, email: str, times: int) -> list[int]:
    """Send ``times`` wrong passwords for ``email``; the statuses answered."""
    return [sign_in(client, email, password=WRONG).status_code for _ in range(times)]


def attempts(session: Session) -> dict[str, tuple[int, bool]]:
    """Every counter: key -> (attempts counted, whether it is blocked)."""
    session.expire_all()
    rows = session.scalars(select(LoginAttempt)).all()
    return {row.key: (row.attempt_count, row.blocked_until is not None) for row in rows}


@pytest.fixture
def clock() -> ManualClock:
    """The server's clock, held still: a busy machine cannot make a second go by between
    the attempt that blocks and the one that reads Retry-After."""
    return ManualClock()


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], clock: ManualClock) -> FastAPI:
    return create_app(settings, session_factory=session_factory, clock=clock)


@pytest.fixture
def elsewhere(app: FastAPI) -> Iterator[TestClient]:
    """A second browser, on another network (another client address)."""
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 50000)) as client:
        yield client


def test_five_wrong_passwords_block_the_account_even_for_the_right_one(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """After five failures the right password is refused with 429, Retry-After and a clear
    message, and nobody is signed in."""
    failures = fail(client, tenant.owner_email, 5)

    refused = sign_in(client, tenant.owner_email)
    after = client.get("/overview", follow_redirects=False)

    assert failures == [401] * 5
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "900"
    assert REFUSAL in refused.text
    assert f'value="{tenant.owner_email}"' in refused.text
    assert after.status_code == 303
    session.expire_all()
    user = WorkspaceService(session).get_user(tenant.owner_id)
    assert user is not None
    assert user.last_login_at is None


def test_a_refused_attempt_is_not_counted_and_does_not_extend_the_block(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Refusals write nothing: the counters stay as the fifth failure left them."""
    fail(client, tenant.owner_email, 5)
    before = attempts(session)
    blocked_until = session.scalar(select(LoginAttempt.blocked_until).where(
        LoginAttempt.key == account_key(tenant.owner_email)
    ))  # fmt: skip

    statuses = fail(client, tenant.owner_email, 3)

    assert statuses == [429] * 3
    assert attempts(session) == before
    assert before[account_key(tenant.owner_email)] == (5, True)
    assert before["address:testclient"] == (5, False)
    assert (
        session.scalar(
            select(LoginAttempt.blocked_until).where(
                LoginAttempt.key == account_key(tenant.owner_email)
            )
        )
        == blocked_until
    )


def test_the_email_is_counted_however_it_is_spelled(client: TestClient, tenant: Tenant) -> None:
    """Capitals and spaces around the email reach the same account, and the same counter."""
    spellings = [tenant.owner_email.upper(), f"  {tenant.owner_email} ", tenant.owner_email]

    statuses = [sign_in(client, email, password=WRONG).status_code for email in spellings * 2]

    assert statuses == [401] * 5 + [429]


def test_the_right_password_works_again_once_the_block_is_over(
    client: TestClient, tenant: Tenant, session: Session, clock: ManualClock
) -> None:
    """The wait counts down in Retry-After; after fifteen minutes the right password signs in
    and the account's counter is cleared."""
    fail(client, tenant.owner_email, 5)
    clock.advance(timedelta(minutes=10, seconds=30))
    waiting = sign_in(client, tenant.owner_email)
    clock.advance(timedelta(minutes=4, seconds=30))

    response = sign_in(client, tenant.owner_email)

    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] == "270"
    assert "Too many attempts; try again in 5 minutes." in waiting.text
    assert response.status_code == 303
    assert response.headers["location"] == "/overview"
    assert account_key(tenant.owner_email) not in attempts(session)


def test_failures_older_than_the_window_are_forgotten(
    client: TestClient, tenant: Tenant, session: Session, clock: ManualClock
) -> None:
    """Four failures, fifteen minutes of quiet, four more: the account is not blocked."""
    fail(client, tenant.owner_email, 4)
    clock.advance(timedelta(minutes=15))

    statuses = fail(client, tenant.owner_email, 4)
    response = sign_in(client, tenant.owner_email)

    assert statuses == [401] * 4
    assert response.status_code == 303


def test_signing_in_resets_the_account_count(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Four failures and a success, twice over: never blocked, and the success clears the
    account's counter while the address keeps its failures."""
    first = fail(client, tenant.owner_email, 4)
    signed_in = sign_in(client, tenant.owner_email)
    counters = attempts(session)
    second = fail(client, tenant.owner_email, 4)

    again = sign_in(client, tenant.owner_email)

    assert first == second == [401] * 4
    assert signed_in.status_code == again.status_code == 303
    assert counters == {"address:testclient": (4, False)}
    assert attempts(session) == {"address:testclient": (8, False)}


def test_another_account_is_not_affected(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """A blocked account blocks only itself: a colleague signs in from the same address."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "analyst@acme.example", Role.ANALYST, password=PASSWORD
    )
    session.commit()
    fail(client, tenant.owner_email, 5)

    blocked = sign_in(client, tenant.owner_email)
    colleague = sign_in(client, "analyst@acme.example")

    assert blocked.status_code == 429
    assert colleague.status_code == 303


def test_twenty_failures_from_one_address_block_it_for_every_account(
    client: TestClient, elsewhere: TestClient, tenant: Tenant, session: Session
) -> None:
    """Guessing across many emails is limited per address: after twenty failures the owner's
    right password is refused from there, and still works from another address."""
    statuses = [
        sign_in(client, f"guess{n % 5}@acme.example", password=WRONG).status_code for n in range(20)
    ]

    here = sign_in(client, tenant.owner_email)
    there = sign_in(elsewhere, tenant.owner_email)

    assert statuses == [401] * 20
    assert here.status_code == 429
    assert here.headers["retry-after"] == "900"
    assert REFUSAL in here.text
    assert there.status_code == 303
    assert attempts(session)["address:testclient"] == (20, True)
    assert account_key(tenant.owner_email) not in attempts(session)


def test_blocking_an_account_is_written_to_its_workspaces_audit_log(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """The fifth failure records one user.locked_out entry (kept although the login is
    refused); refusals after it add none."""
    fail(client, tenant.owner_email, 5)
    fail(client, tenant.owner_email, 2)

    session.expire_all()
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.workspace_id == tenant.workspace_id, AuditEntry.action == "user.locked_out"
        )
    ).all()

    assert [(e.actor, e.subject) for e in entries] == [("system", tenant.owner_id)]
    details = entries[0].details
    assert details["failed_attempts"] == "5"
    assert details["within_minutes"] == "15"
    assert details["last_address"] == "testclient"
    assert details["blocked_until"].endswith("+00:00")


def test_blocking_an_unknown_email_writes_no_audit_entry(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """An email without an account is blocked alike, but has no workspace to audit in."""
    statuses = fail(client, "nobody@acme.example", 6)

    session.expire_all()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.locked_out"))

    assert statuses == [401] * 5 + [429]
    assert entries.all() == []


def test_the_limits_come_from_the_servers_settings(
    settings: Settings, session_factory: sessionmaker[Session], tenant: Tenant, clock: ManualClock
) -> None:
    """TESSERA_LOGIN_ACCOUNT_LIMIT=2 and a 60-second lockout: the third attempt is refused,
    and the wait shown is the configured one."""
    strict = settings.model_copy(update={"login_account_limit": 2, "login_lockout_seconds": 60})
    app = create_app(strict, session_factory=session_factory, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        failures = fail(client, tenant.owner_email, 2)
        refused = sign_in(client, tenant.owner_email)

    assert failures == [401, 401]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
