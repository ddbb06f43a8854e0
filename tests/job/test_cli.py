"""tessera jobs list|retry|cancel: the operator's view of every job, with one-line errors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.job.service import JobService
from tessera.kit.time import utcnow
from tessera.models.job import Job
from tessera.workspace.service import WorkspaceService
from tests.support.cli import invoke
from tests.support.factories import make_tenant

LEASE = timedelta(seconds=30)


def dead_job(session: Session, workspace_id: str | None = None) -> Job:
    service = JobService(session)
    job = service.enqueue("test.ran", workspace_id=workspace_id, max_attempts=1, priority=0)
    [claimed] = service.claim("worker-a", 1, LEASE, utcnow())
    service.fail(claimed, "worker-a", "KeyError: 'A-1'\n  File ...", utcnow(), lambda: 0.5)
    session.commit()
    return service.get_job(job.id)


def test_jobs_list_shows_every_workspaces_jobs_and_system_jobs(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """Without --workspace the operator sees all jobs, system ones marked as such."""
    tenant = make_tenant(session, "acme")
    dead = dead_job(session, tenant.workspace_id)
    system = JobService(session).enqueue("job.pruned")
    session.commit()

    code, output = invoke(settings, session_factory, "jobs", "list")

    assert code == 0
    assert dead.id in output and system.id in output
    dead_row = next(line for line in output.splitlines() if dead.id in line)
    system_row = next(line for line in output.splitlines() if system.id in line)
    assert "dead" in dead_row and "KeyError: 'A-1'" in dead_row and "1/1" in dead_row
    assert "queued" in system_row and "system" in system_row


def test_jobs_list_filters_by_workspace_and_status(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """--workspace takes a slug; --status narrows to one status."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    dead = dead_job(session, a.workspace_id)
    service = JobService(session)
    queued = service.enqueue("test.ran", workspace_id=a.workspace_id)
    other = service.enqueue("test.ran", workspace_id=b.workspace_id)
    session.commit()

    code, output = invoke(
        settings, session_factory, "jobs", "list", "-w", "alpha", "--status", "queued"
    )

    assert code == 0
    assert queued.id in output
    assert dead.id not in output and other.id not in output


def test_jobs_retry_queues_a_dead_job_again(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """retry prints what it did and the job is queued, its attempt count kept."""
    dead = dead_job(session)

    code, output = invoke(settings, session_factory, "jobs", "retry", dead.id)

    assert code == 0
    assert output.strip() == f"queued again {dead.id} (test.ran, attempts 1/9)"
    assert JobService(session).get_job(dead.id).status == "queued"


def test_jobs_cancel_cancels_a_queued_job(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """cancel on a queued job cancels it."""
    job = JobService(session).enqueue("test.ran")
    session.commit()

    code, output = invoke(settings, session_factory, "jobs", "cancel", job.id)

    assert code == 0
    assert output.strip() == f"cancelled {job.id} (test.ran, attempts 0/8)"
    assert JobService(session).get_job(job.id).status == "cancelled"


def test_cancelling_a_running_job_is_one_clear_line_and_exit_1(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """A running job cannot be cancelled; the CLI says why in one line and changes nothing."""
    service = JobService(session)
    job = service.enqueue("test.ran")
    service.claim("worker-a", 1, LEASE, utcnow())
    session.commit()

    code, output = invoke(settings, session_factory, "jobs", "cancel", job.id)

    assert code == 1
    assert output.strip() == (
        f"error: job {job.id} is running and cannot be cancelled; wait for it to finish or fail"
    )
    assert service.get_job(job.id).status == "running"


def test_an_unknown_job_is_one_line_and_exit_1(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """retry and cancel of an id that does not exist say so."""
    retry = invoke(settings, session_factory, "jobs", "retry", "job_nope")
    cancel = invoke(settings, session_factory, "jobs", "cancel", "job_nope")

    assert retry == (1, "error: no job job_nope\n")
    assert cancel == (1, "error: no job job_nope\n")


def test_an_unknown_workspace_is_one_line_and_exit_1(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """jobs list -w with a slug that does not exist names it."""
    code, output = invoke(settings, session_factory, "jobs", "list", "-w", "nope")

    assert (code, output) == (1, "error: no workspace with id or slug 'nope'\n")


def test_jobs_list_filters_by_kind_and_refuses_a_malformed_one(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """--kind keeps one kind; a kind that cannot be one is a one-line error."""
    tenant = make_tenant(session, "acme")
    service = JobService(session)
    stitched = service.enqueue("identity.stitched", workspace_id=tenant.workspace_id)
    other = service.enqueue("test.ran", workspace_id=tenant.workspace_id)
    session.commit()

    code, output = invoke(settings, session_factory, "jobs", "list", "--kind", "identity.stitched")
    bad_code, bad = invoke(settings, session_factory, "jobs", "list", "--kind", "Nope Nope")

    assert code == 0 and stitched.id in output and other.id not in output
    assert (bad_code, bad.strip()) == (
        1,
        "error: kind is not a job kind (dotted lowercase) (field: kind)",
    )


def test_workspace_audit_lists_who_did_what_filtered_by_action(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    tenant = make_tenant(session, "acme")
    WorkspaceService(session).record(tenant.workspace_id, "cli", "quarantine.discarded", "q1", {})
    session.commit()

    code, output = invoke(
        settings, session_factory, "workspace", "audit", "-w", "acme", "--action", "quarantine."
    )

    assert code == 0
    assert "quarantine.discarded" in output and "q1" in output
    assert "user.added" not in output and "api_key.created" not in output
