"""Fault injection: real worker processes (the job runner, against PostgreSQL) killed between
the provider's answer and the commit that records it, again and again, then restarted until
every message is sent.

The fake SMS provider creates a message for every POST, whatever its idempotency key, so a
duplicate would show; the SMTP server keeps every copy it receives. What must hold: each SMS
was created exactly once at the provider (by key), each email's Message-ID arrived at least
once and every copy of one Message-ID is the same message, and every row ends ``sent``.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.message.service import MessageService
from tessera.models.job import Job
from tessera.models.message import Message, MessageStatus
from tests.message.faults import FAULT_EXIT_CODE, run_worker
from tests.message.world import configure, message_settings, person, template
from tests.support.factories import make_workspace
from tests.support.fake_sms import ACCOUNT_SID, AUTH_TOKEN, SmsState, fake_sms
from tests.support.smtp_server import Mailbox, smtp_server

MESSAGES_PER_CHANNEL = 15
SEED = 20250304
DEADLINE_SECONDS = 420.0
RANDOM_KILL_ROUNDS = (2, 5, 8)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _worker(env: dict[str, str]) -> BaseProcess:
    """A worker process, forked: it inherits the imports and starts at once."""
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(env,))
    process.start()
    return process


def _unsent(engine: Engine) -> int:
    with session_scope(make_session_factory(engine)) as session:
        statuses = session.scalars(select(Message.status)).all()
    return sum(1 for status in statuses if status is not MessageStatus.SENT)


def test_workers_killed_between_the_provider_and_the_commit_send_each_message_once(
    pg: Engine, tmp_path: Path
) -> None:
    """30 messages, a quarter of them with one or two deaths planned right after the provider
    answered, and a few SIGKILLs at random moments besides: no SMS is created twice, no
    message is lost, no Message-ID arrives with two different contents."""
    rng = random.Random(SEED)
    with smtp_server() as (smtp_port, mailbox), fake_sms() as (sms_url, sms):
        settings = message_settings(
            pg.url.render_as_string(hide_password=False), smtp_port, sms_url
        )
        keys = _queue_messages(pg, settings)
        plan = {key: rng.choice((1, 1, 2)) for key in rng.sample(keys, len(keys) // 4)}
        fault_log = tmp_path / "deaths.log"
        env = {
            "TESSERA_DATABASE_URL": pg.url.render_as_string(hide_password=False),
            "TESSERA_JOB_MODULES": "tests.message.faults",
            "TESSERA_JOB_LEASE_SECONDS": "2",
            # A killed worker costs an attempt to every job it held: claim one at a time, and
            # give the jobs room for the planned deaths and the random ones.
            "TESSERA_WORKER_BATCH_SIZE": "1",
            "TESSERA_JOB_MAX_ATTEMPTS": "30",
            "TESSERA_WORKER_POLL_SECONDS": "0.05",
            "TESSERA_LOG_LEVEL": "WARNING",
            "TESSERA_SECRET_KEY": settings.secret_key.get_secret_value(),
            "TESSERA_PUBLIC_URL": settings.public_url,
            "TESSERA_SMTP_HOST": "127.0.0.1",
            "TESSERA_SMTP_PORT": str(smtp_port),
            "TESSERA_SMS_BASE_URL": sms_url,
            "TESSERA_SMS_ACCOUNT_SID": ACCOUNT_SID,
            "TESSERA_SMS_AUTH_TOKEN": AUTH_TOKEN,
            "TESSERA_TEST_FAULT_PLAN": json.dumps(plan),
            "TESSERA_TEST_FAULT_LOG": str(fault_log),
        }

        planned_deaths, random_kills, clean_exits = _run_until_sent(pg, env, rng)

        _assert_exactly_once(pg, sms, mailbox, plan, fault_log, planned_deaths)
    assert clean_exits == 1
    assert planned_deaths + random_kills >= len(plan)


def _queue_messages(engine: Engine, settings: object) -> list[str]:
    """A workspace, 15 people with an email and a phone, a receipt queued on each channel."""
    keys: list[str] = []
    with session_scope(make_session_factory(engine)) as session:
        workspace_id = make_workspace(session, "faults")
        template(session, workspace_id, "receipt")
        template(session, workspace_id, "shipped", channel="sms",
                 body="Order {{ order.number }} shipped, {{ profile.first_name }}.")  # fmt: skip
        configure(session, workspace_id, settings)  # type: ignore[arg-type]
        people = [
            person(
                session,
                workspace_id,
                f"u-{n}",
                email=f"p{n}@example.com",
                phone=f"+1415555{n:04d}",
                first_name=f"P{n}",
            )
            for n in range(MESSAGES_PER_CHANNEL)
        ]
        service = MessageService(session)
        for n, who in enumerate(people):
            for channel, name in (("sms", "shipped"), ("email", "receipt")):
                key = f"fault-{channel}-{n}"
                service.queue(workspace_id, who.profile_id, channel, name, idempotency_key=key,
                              purpose="transactional",
                              context={"order": {"number": f"#{n}"}})  # fmt: skip
                keys.append(key)
    return keys


def _run_until_sent(
    engine: Engine, env: dict[str, str], rng: random.Random
) -> tuple[int, int, int]:
    """Start a worker, wait for it to die or to finish; restart it until every message is
    sent. Some rounds are cut short by a SIGKILL at a random moment. Returns (deaths at the
    fault hook, random SIGKILLs, clean exits)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    planned = random_kills = clean = rounds = 0
    while time.monotonic() < deadline:
        worker = _worker(env)
        try:
            # A few rounds are cut short at a random moment, wherever the worker is.
            rounds += 1
            doomed = rounds in RANDOM_KILL_ROUNDS
            kill_at = time.monotonic() + rng.uniform(0.5, 3.0) if doomed else None
            while worker.is_alive():
                if _unsent(engine) == 0:
                    worker.terminate()  # SIGTERM: stop cleanly
                    worker.join(timeout=30)
                    assert worker.exitcode == 0
                    return planned, random_kills, clean + 1
                if kill_at is not None and time.monotonic() >= kill_at:
                    worker.kill()  # SIGKILL
                    worker.join()
                    random_kills += 1
                    break
                time.sleep(0.1)
            else:
                worker.join()
                assert worker.exitcode == FAULT_EXIT_CODE
                planned += 1
        finally:
            if worker.is_alive():
                worker.kill()
                worker.join()
    with session_scope(make_session_factory(engine)) as session:
        jobs = session.execute(
            select(Job.kind, Job.status, Job.attempts).where(Job.kind.like("message.%"))
        ).all()
    pytest.fail(
        f"messages still unsent after {DEADLINE_SECONDS} s ({rounds} rounds, {planned} planned "
        f"deaths, {random_kills} kills); jobs: {sorted(map(tuple, jobs))}"
    )


def _assert_exactly_once(
    engine: Engine,
    sms: SmsState,
    mailbox: Mailbox,
    plan: dict[str, int],
    fault_log: Path,
    planned_deaths: int,
) -> None:
    with session_scope(make_session_factory(engine)) as session:
        rows = _rows(session)
        reconciled = session.scalars(
            select(Job.idempotency_key).where(
                Job.kind == "message.delivered_to_provider", Job.attempts > 1
            )
        ).all()
    sms_rows = {r.id: r for r in rows if r.channel.value == "sms"}
    email_rows = {r.id: r for r in rows if r.channel.value == "email"}
    by_key = sms.by_key()
    sids = {s.idempotency_key: s.sid for s in sms.sent}
    copies: dict[str, list[tuple[str, ...]]] = {}
    for arrived in mailbox.all():
        copies.setdefault(arrived.message_id, []).append(arrived.content())
    deaths = fault_log.read_text().split()

    assert len(deaths) == sum(plan.values())
    assert planned_deaths <= len(deaths)
    assert {r.status for r in rows} == {MessageStatus.SENT}
    assert by_key == dict.fromkeys(sms_rows, 1)  # zero duplicates, zero lost
    assert {r.id: r.provider_id for r in sms_rows.values()} == {i: sids[i] for i in sms_rows}
    assert set(copies) == {f"<{i}@tessera>" for i in email_rows}  # no email lost
    assert [m for m, seen in copies.items() if len(set(seen)) > 1] == []  # same bytes each time
    assert len(reconciled) >= len(plan)  # every planned death was followed by a reconciliation


def _rows(session: Session) -> list[Message]:
    return list(session.scalars(select(Message).order_by(Message.id)))
