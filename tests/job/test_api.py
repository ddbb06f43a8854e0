"""/v1/jobs: a workspace's jobs, readable by viewers, retried and cancelled by admins."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.job.service import JobService
from tessera.kit.time import utcnow
from tessera.models.job import Job
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
LEASE = timedelta(seconds=30)


def viewer_auth(session: Session, tenant: Tenant) -> dict[str, str]:
    _, token = WorkspaceService(session).create_api_key(
        tenant.workspace_id, ApiKeyKind.SECRET, "viewer", Role.VIEWER
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def dead_job(session: Session, workspace_id: str) -> Job:
    """A job that failed its only attempt, made through the service like a worker would."""
    service = JobService(session)
    job = service.enqueue("test.ran", {"sku": "A-1"}, workspace_id=workspace_id, max_attempts=1)
    [claimed] = service.claim("worker-a", 1, LEASE, utcnow())
    service.fail(claimed, "worker-a", "KeyError: 'A-1'", utcnow(), lambda: 0.5)
    session.commit()
    return service.get_job(job.id)


def test_viewers_list_their_workspaces_jobs_newest_first(
    client: TestClient, session: Session
) -> None:
    """Only the caller's workspace's jobs: not another workspace's, not system jobs."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)
    mine = [service.enqueue("test.ran", {"n": n}, workspace_id=a.workspace_id).id for n in range(3)]
    service.enqueue("test.ran", workspace_id=b.workspace_id)
    service.enqueue("job.pruned")
    session.commit()

    first = client.get("/v1/jobs", params={"limit": 2}, headers=viewer_auth(session, a))
    rest = client.get("/v1/jobs", params={"cursor": first.json()["next_cursor"]}, headers=a.auth)

    assert first.status_code == 200
    assert [job["id"] for job in first.json()["items"]] == [mine[2], mine[1]]
    assert [job["id"] for job in rest.json()["items"]] == [mine[0]]
    assert rest.json()["next_cursor"] is None
    item = first.json()["items"][0]
    assert {
        key: item[key] for key in ("kind", "status", "payload", "attempts", "workspace_id")
    } == {
        "kind": "test.ran",
        "status": "queued",
        "payload": {"n": 2},
        "attempts": 0,
        "workspace_id": a.workspace_id,
    }


def test_jobs_can_be_filtered_by_status(client: TestClient, session: Session) -> None:
    """status=dead lists only the dead letters, with their last error."""
    tenant = make_tenant(session, "acme")
    dead = dead_job(session, tenant.workspace_id)
    JobService(session).enqueue("test.ran", workspace_id=tenant.workspace_id)
    session.commit()

    response = client.get("/v1/jobs", params={"status": "dead"}, headers=tenant.auth)

    assert response.status_code == 200
    assert [(j["id"], j["status"], j["last_error"]) for j in response.json()["items"]] == [
        (dead.id, "dead", "KeyError: 'A-1'")
    ]


def test_an_unknown_status_is_a_422_naming_the_parameter(
    client: TestClient, session: Session
) -> None:
    """status must be one of the job statuses."""
    tenant = make_tenant(session, "acme")

    response = client.get("/v1/jobs", params={"status": "exploded"}, headers=tenant.auth)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.status"]


def test_one_job_is_shown_with_its_error(client: TestClient, session: Session) -> None:
    """GET /v1/jobs/{id} returns the job with its attempts and last error."""
    tenant = make_tenant(session, "acme")
    dead = dead_job(session, tenant.workspace_id)

    response = client.get(f"/v1/jobs/{dead.id}", headers=viewer_auth(session, tenant))

    body = response.json()
    assert response.status_code == 200
    assert (body["id"], body["status"], body["attempts"], body["max_attempts"]) == (
        dead.id,
        "dead",
        1,
        1,
    )
    assert body["last_error"] == "KeyError: 'A-1'"


def test_another_workspaces_job_and_system_jobs_are_404(
    client: TestClient, session: Session
) -> None:
    """B's job and a system job are 'not found' for A, on every route, and stay as they were."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)
    theirs = service.enqueue("test.ran", workspace_id=b.workspace_id).id
    system = service.enqueue("job.pruned").id
    session.commit()

    statuses = [
        client.request(method, f"/v1/jobs/{job_id}{suffix}", headers=a.auth).status_code
        for job_id in (theirs, system)
        for method, suffix in (("GET", ""), ("POST", "/retry"), ("POST", "/cancel"))
    ]
    problem = client.get(f"/v1/jobs/{theirs}", headers=a.auth)

    assert statuses == [404] * 6
    assert problem.headers["content-type"] == PROBLEM
    assert problem.json()["type"] == "https://tessera.dev/problems/job-not-found"
    assert service.get_job(theirs).status == "queued"
    assert service.get_job(system).status == "queued"


def test_an_admin_retries_a_dead_job(client: TestClient, session: Session) -> None:
    """POST retry queues the dead job again, keeping its attempt count."""
    tenant = make_tenant(session, "acme")
    dead = dead_job(session, tenant.workspace_id)

    response = client.post(f"/v1/jobs/{dead.id}/retry", headers=tenant.auth)

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["attempts"], body["max_attempts"]) == ("queued", 1, 9)
    assert JobService(session).get_job(dead.id).status == "queued"


def test_a_viewer_cannot_retry_or_cancel(client: TestClient, session: Session) -> None:
    """Viewers read; retrying and cancelling need an admin key. Nothing changes."""
    tenant = make_tenant(session, "acme")
    dead = dead_job(session, tenant.workspace_id)
    queued = JobService(session).enqueue("test.ran", workspace_id=tenant.workspace_id)
    session.commit()
    viewer = viewer_auth(session, tenant)

    retry = client.post(f"/v1/jobs/{dead.id}/retry", headers=viewer)
    cancel = client.post(f"/v1/jobs/{queued.id}/cancel", headers=viewer)

    assert (retry.status_code, cancel.status_code) == (403, 403)
    assert retry.json()["type"].endswith("/role-too-low")
    assert JobService(session).get_job(dead.id).status == "dead"
    assert JobService(session).get_job(queued.id).status == "queued"


def test_an_admin_cancels_a_queued_job(client: TestClient, session: Session) -> None:
    """POST cancel on a queued job answers it cancelled."""
    tenant = make_tenant(session, "acme")
    job = JobService(session).enqueue("test.ran", workspace_id=tenant.workspace_id)
    session.commit()

    response = client.post(f"/v1/jobs/{job.id}/cancel", headers=tenant.auth)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert JobService(session).get_job(job.id).status == "cancelled"


def test_cancelling_a_running_job_is_a_409_saying_why(client: TestClient, session: Session) -> None:
    """A running job cannot be cancelled: 409 with a clear detail, and it keeps running."""
    tenant = make_tenant(session, "acme")
    service = JobService(session)
    job = service.enqueue("test.ran", workspace_id=tenant.workspace_id)
    service.claim("worker-a", 1, LEASE, utcnow())
    session.commit()

    response = client.post(f"/v1/jobs/{job.id}/cancel", headers=tenant.auth)

    assert response.status_code == 409
    assert response.json()["type"] == "https://tessera.dev/problems/job-not-cancellable"
    assert response.json()["detail"] == (
        f"job {job.id} is running and cannot be cancelled; wait for it to finish or fail"
    )
    assert service.get_job(job.id).status == "running"


def test_retrying_a_queued_job_is_a_409(client: TestClient, session: Session) -> None:
    """Only dead or cancelled jobs can be retried."""
    tenant = make_tenant(session, "acme")
    job = JobService(session).enqueue("test.ran", workspace_id=tenant.workspace_id)
    session.commit()

    response = client.post(f"/v1/jobs/{job.id}/retry", headers=tenant.auth)

    assert response.status_code == 409
    assert response.json()["type"] == "https://tessera.dev/problems/job-not-retryable"
    assert JobService(session).get_job(job.id).attempts == 0
